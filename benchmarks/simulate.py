"""Benchmark the vectorised traffic simulator against a SimPy discrete-event baseline.

Runs the baseline scenario scaled to about ``--messages`` messages with 1 and 2
worker processes, then the same traffic model written as a SimPy discrete-event
simulation (one process per chat, a staff resource per shop) on a subset of
shops, and prints messages per second and the speed-up.

Usage:
    .venv/bin/python benchmarks/simulate.py [--messages 5000000] [--simpy-shops 12]
"""

from __future__ import annotations

import argparse
import bisect
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatsim.scenario import Archetype, Scenario, load_scenario  # noqa: E402
from chatsim.simulate import SHARD_SIZE, simulate, simulate_to_dir  # noqa: E402
from chatsim.simulate.calendar import (  # noqa: E402
    Calendar,
    arrival_profile,
    day_plan,
    shop_calendars,
)

ROOT = Path(__file__).resolve().parents[1]
HOUR, DAY = 3600.0, 86400.0


# --------------------------------------------------------------------------------------
# the discrete-event baseline: same model, one SimPy process per chat
# --------------------------------------------------------------------------------------


class ScalarCalendar:
    """Scalar working-time arithmetic (bisect on lists) for the event-driven model."""

    def __init__(self, cal: Calendar) -> None:
        self.start = cal.start.tolist()
        self.end = cal.end.tolist()
        self.cum = cal.cum.tolist()
        self.cum_end = cal.cum_end.tolist()

    def work(self, t: float) -> float:
        i = bisect.bisect_right(self.start, t) - 1
        if i < 0:
            return 0.0
        return self.cum[i] + min(max(t - self.start[i], 0.0), self.end[i] - self.start[i])

    def time_at(self, w: float) -> float:
        j = bisect.bisect_left(self.cum_end, w)
        if j >= len(self.start):
            return math.inf
        return self.start[j] + (w - self.cum[j])

    def add(self, t: float, delay: float) -> float:
        return self.time_at(self.work(t) + delay)


def shop_calendar(rng: np.random.Generator, a: Archetype, sc: Scenario) -> ScalarCalendar:
    """One shop's working calendar (its own shift times, days off covered, absent days)."""
    plan = day_plan(
        a.schedule, a.staff_tz, a.holiday_country, a.works_holidays, sc.period.start, sc.period.days
    )
    cals = shop_calendars(rng, a, plan, 1)
    c = cals.cal
    return ScalarCalendar(Calendar(c.start - cals.offset, c.end - cals.offset, c.cum, c.cum_end))


def simpy_run(sc: Scenario, n_shops: int, seed: int = 0) -> int:
    """Simulate ``n_shops`` shops of ``sc`` event by event; returns the message count."""
    import simpy

    rnd = random.Random(seed)
    rng = np.random.default_rng(seed)  # per-shop calendars
    env = simpy.Environment()
    period = sc.period.days * DAY
    sat = sc.satisfaction
    messages: list[tuple] = []
    assign = sc.shop_archetypes()

    def log(shop: int, buyer: int, t: float, sender: str, kind: str, **kw: object) -> None:
        if 0.0 <= t < period:
            messages.append((shop, buyer, t, sender, kind, kw.get("rating"), kw.get("valid", True)))

    def lognormal(median_min: float, sigma: float) -> float:
        return median_min * 60.0 * math.exp(sigma * rnd.gauss(0.0, 1.0))

    def chat(
        shop: int,
        buyer: int,
        a: Archetype,
        cal: ScalarCalendar,
        staff: simpy.Resource,
        size: float,
        pace: float,
        adopts: bool,
    ):
        t_open = env.now
        auto = adopts and rnd.random() < a.auto_reply_rate
        resolved = auto and rnd.random() < a.faq_resolution
        n_burst = 1 if resolved else 1 + _poisson(rnd, a.burst_mean - 1.0)
        log(shop, buyer, env.now, "buyer", "text")
        if auto:
            log(shop, buyer, env.now + rnd.uniform(1, 4), "auto", "text",
                rating=_rating(rnd, a, sat.faq) if resolved else None)  # fmt: skip
        if rnd.random() < a.system_message_share:
            log(shop, buyer, env.now + rnd.uniform(30, 1800), "seller", "system")
        for _ in range(n_burst - 1):
            yield env.timeout(1.0 + rnd.expovariate(1 / 40.0))
            log(shop, buyer, env.now, "buyer", "text")
        if resolved:
            return
        if (
            a.blocked_share
            and rnd.random() < a.blocked_share
            and rnd.random() > a.blocked_answer_rate
        ):
            return
        # FIFO staff queue: each chat takes 1/capacity working hours of staff time
        with staff.request() as req:
            yield req
            svc = HOUR / (a.capacity_per_hour * size)
            start = max(env.now, cal.time_at(cal.work(env.now)))
            if not math.isfinite(start):
                return
            yield env.timeout(cal.add(start, svc) - env.now)
            t_start = start
        delay = lognormal(a.delay_median_minutes, a.delay_sigma) * pace
        t_reply = cal.add(t_start, delay)
        if not math.isfinite(t_reply) or t_reply >= period:
            return
        yield env.timeout(max(t_reply - env.now, 0.0))
        if rnd.random() < a.small_talk_share:
            log(shop, buyer, env.now, "seller", "text", valid=False)
            t2 = cal.add(env.now, lognormal(a.delay_median_minutes, a.delay_sigma) * pace)
            if not math.isfinite(t2):
                return
            yield env.timeout(t2 - env.now)
        hours = (env.now - t_open) / HOUR
        p = float(sat.p_satisfied(hours)) if rnd.random() < a.rating_prob else None
        log(shop, buyer, env.now, "seller", "text",
            rating=None if p is None else ("satisfied" if rnd.random() < p else "unsatisfied"))  # fmt: skip
        if rnd.random() < a.followup_prob:
            yield env.timeout(lognormal(10.0, 1.0))
            log(shop, buyer, env.now, "buyer", "emoji")
            if rnd.random() < a.followup_answer_prob:
                t3 = cal.add(env.now, lognormal(a.delay_median_minutes, a.delay_sigma) * pace)
                if math.isfinite(t3):
                    yield env.timeout(t3 - env.now)
                    log(shop, buyer, env.now, "seller", "text")

    def shop_proc(shop: int, a: Archetype):
        cal = shop_calendar(rng, a, sc)
        pace = math.exp(a.delay_shop_sigma * rnd.gauss(0, 1))
        adopts = rnd.random() < a.auto_reply_adoption
        profile = arrival_profile(a.buyer_tz, sc.period.start, sc.period.days, sc.campaigns)
        size = math.exp(a.volume_sigma * rnd.gauss(0, 1) - a.volume_sigma**2 / 2)
        rate_max = a.chats_per_day * size / 24.0 * float(profile.max()) / HOUR
        staff = simpy.Resource(env, capacity=1)
        n_buyers = max(1, int(a.chats_per_day * size * sc.period.days * 0.75))
        env.process(seller_side(shop, a, cal, n_buyers))
        while True:  # thinning: non-homogeneous Poisson arrivals
            yield env.timeout(rnd.expovariate(rate_max))
            if env.now >= period:
                return
            h = int(env.now // HOUR)
            if rnd.random() * float(profile.max()) < profile[h]:
                buyer = rnd.randrange(n_buyers)
                env.process(chat(shop, buyer, a, cal, staff, size, pace, adopts))

    def seller_side(shop: int, a: Archetype, cal: ScalarCalendar, n_buyers: int):
        w0, w1 = cal.work(0.0), cal.work(period)
        if w1 <= w0:
            return
        events = []
        for i in range(_poisson(rnd, a.seller_threads_per_day * sc.period.days)):
            events.append((cal.time_at(rnd.uniform(w0, w1)), "thread", n_buyers + i))
        for _ in range(_poisson(rnd, a.broadcasts_per_week * sc.period.days / 7)):
            events.append((cal.time_at(rnd.uniform(w0, w1)), "broadcast", 0))
        for t, what, buyer in sorted(events):
            yield env.timeout(max(t - env.now, 0.0))
            recipients = (
                [buyer] if what == "thread" else range(_poisson(rnd, a.broadcast_recipients))
            )
            reply_p = a.seller_thread_reply_rate if what == "thread" else a.broadcast_reply_rate
            for b in recipients:
                log(shop, b, env.now, "seller", "text")
                if rnd.random() < reply_p:
                    log(
                        shop,
                        b,
                        env.now + min(rnd.expovariate(1 / HOUR), 23 * HOUR),
                        "buyer",
                        "text",
                    )

    for s in range(n_shops):
        env.process(shop_proc(s, sc.archetypes[assign[s]]))
    env.run(until=period + 60 * DAY)
    return len(messages)


def _poisson(rnd: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(rnd.gauss(lam, math.sqrt(lam)))))
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rnd.random()
        if p <= limit:
            return k
        k += 1


def _rating(rnd: random.Random, a: Archetype, p: float) -> str | None:
    if rnd.random() >= a.rating_prob:
        return None
    return "satisfied" if rnd.random() < p else "unsatisfied"


# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--messages", type=int, default=5_000_000, help="target size of the run")
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    ap.add_argument("--simpy-shops", type=int, default=12, help="shops in the SimPy baseline")
    args = ap.parse_args(argv)

    base = load_scenario(args.scenario)
    probe = simulate(base.scaled(shops=128))
    per_shop = probe.n_messages / 128
    shops = max(1, round(args.messages / per_shop))
    sc = base.scaled(shops=shops)
    print(f"scenario {base.name}: {shops} shops x {sc.period.days} days "
          f"(~{per_shop:,.0f} messages per shop)", flush=True)  # fmt: skip

    rows = []
    for workers in (1, 2):
        # warm-up: start the worker processes (reused by later calls) and fill the caches
        t0 = time.perf_counter()
        simulate(sc.scaled(shops=workers * SHARD_SIZE), workers=workers)
        print(f"  {workers} worker(s): warm-up (process start) {time.perf_counter() - t0:.2f} s")
        t0 = time.perf_counter()
        log = simulate(sc, workers=workers)
        el = time.perf_counter() - t0
        n_messages = log.n_messages
        rows.append(("vectorised, in memory", workers, shops, n_messages, el))
        print(f"  {workers} worker(s): {log.n_messages:,} messages in {el:.2f} s", flush=True)
        del log

    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            t0 = time.perf_counter()
            simulate_to_dir(sc, Path(tmp) / f"w{workers}", workers=workers, progress=False)
            el = time.perf_counter() - t0
            rows.append(("vectorised -> Parquet folder", workers, shops, n_messages, el))
            print(f"  simulate_to_dir, {workers} worker(s): {el:.2f} s", flush=True)

    n_simpy = min(args.simpy_shops, shops)
    # SimPy on the first shops of the mix (each archetype once if possible)
    mixed = sc.scaled(shops=max(n_simpy, len(sc.archetypes)))
    t0 = time.perf_counter()
    n = simpy_run(mixed, mixed.shops)
    el = time.perf_counter() - t0
    rows.append(("SimPy discrete-event", 1, mixed.shops, n, el))

    simpy_rate = n / el
    print()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load} (other load skews the figures)")
    print(
        f"{'engine':<30}{'workers':>8}{'shops':>8}{'messages':>13}{'seconds':>10}{'msgs/s':>14}{'vs SimPy':>10}"
    )
    for name, w, s, m, e in rows:
        rate = m / e
        print(f"{name:<30}{w:>8}{s:>8}{m:>13,}{e:>10.2f}{rate:>14,.0f}{rate / simpy_rate:>9.0f}x")


if __name__ == "__main__":
    main()
