"""Peer marketplaces' response rules as publicly described: rule presets with their sources.

Each :class:`Preset` is a :class:`~chatsim.rules.Rule` built from a design a peer
marketplace describes in public (secondary sources, gathered Nov 2026), with every figure a
rule setting a policy team can change, and the sources, dates and readings behind it. A
preset is **our reading of a public description**, never the marketplace's own code: every
page and table names it with :attr:`Preset.label` ("..., as publicly described").

The presets (``docs/policy.md``, "Peer designs", has the table and the sources):

* ``shopee-crr``: Shopee Chat Response Rate: chats answered within 12 h over 90 days,
  blended with the latest 25 % of chats, 57 % under 2 chats, automatic replies ignored;
* ``lazada-rr``: Lazada chat response rate: a same-day cycle (received by 18:00 local,
  due 19:00 local), 7 days, public holidays and holiday mode excluded;
* ``amazon-lrr``: Amazon Late Response Rate: buyer messages answered after 24 h or not at
  all, 30 days, at most 10 %, "no response needed" messages excluded;
* ``etsy-star``: Etsy Star Seller: the first message of a conversation answered within
  24 h, 3 months, at least 95 %;
* ``walmart-48h``: Walmart Seller Response Rate: buyer messages answered within 48 h,
  30 days, more than 95 %.

Names resolve anywhere a rule name does (:func:`chatsim.rules.resolve_rule`, a scenario's
``analysis.rules`` and ``analysis.peers``); ``chatsim rules --export DIR`` writes them as
YAML beside the built-in pair.

Example:
    >>> preset("etsy-star").rule.target
    0.95
    >>> preset("etsy-star").label
    'Etsy Star Seller, as publicly described'
    >>> sorted(PRESET_RULES) == sorted(PRESETS)
    True
"""

from __future__ import annotations

from dataclasses import dataclass

from chatsim.errors import RuleError
from chatsim.rules import DEFAULT_EXCLUSIONS, Rule

__all__ = [
    "AS_DESCRIBED",
    "GATHERED",
    "PRESETS",
    "PRESET_RULES",
    "Preset",
    "Source",
    "is_preset",
    "preset",
    "preset_label",
]

#: How every page qualifies a preset: our reading of a public description.
AS_DESCRIBED = "as publicly described"
#: When the public descriptions were gathered.
GATHERED = "Nov 2026"


@dataclass(frozen=True)
class Source:
    """A public page a preset's figures come from: its title, address and date."""

    title: str
    url: str
    date: str


@dataclass(frozen=True)
class Preset:
    """A peer design as a rule, with where each of its figures comes from.

    Attributes:
        rule: the rule (its ``description`` says "as publicly described").
        design: the design's public name ("Shopee Chat Response Rate").
        short: a short name for charts ("Shopee CRR").
        sources: the public pages behind the figures.
        readings: how each described figure became a rule setting, one line each.
    """

    rule: Rule
    design: str
    short: str
    sources: tuple[Source, ...]
    readings: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def label(self) -> str:
        """The design as every page, chart and sentence names it (its short name, qualified):
        ``"Amazon LRR, as publicly described"``."""
        return f"{self.short}, {AS_DESCRIBED}"


def _described(design: str, summary: str) -> str:
    return f"{design}, {AS_DESCRIBED} (secondary sources, gathered {GATHERED}): {summary}"


_SHOPEE = Preset(
    rule=Rule(
        name="shopee-crr",
        window_hours=12,
        target=0.60,
        target_comparison="at_least",
        min_chats=2,
        default_rate=0.57,
        rate_kind="blended",
        blend_weight=0.5,
        recent_fraction=0.25,
        period_days=90,
        auto_reply="ignore",
        violation_points=True,
        description=_described(
            "Shopee Chat Response Rate",
            "new chat threads and offers answered within 12 hours over 90 days, half the "
            "90-day rate and half the rate of the latest 25 % of chats; 57 % under 2 chats; "
            "automatic replies not counted; a penalty point below 60 % in one market.",
        ),
    ),
    design="Shopee Chat Response Rate",
    short="Shopee CRR",
    sources=(
        Source(
            "How is Chat Response Rate calculated? (seller guide)",
            "https://www.hipkart.com/blogs/how-is-chat-response-rate-calculated/",
            "undated, read Nov 2026",
        ),
        Source(
            "Shopee Thailand raises the chat response rate requirement (from 1 Jan 2024)",
            "http://sellerby.com/p/32.html",
            "2023-12, read Nov 2026",
        ),
    ),
    readings=(
        "counted unit: every buyer-opened chat (a new chat thread or an offer opens one)",
        "window_hours 12; period_days 90",
        "rate: 0.5 x the 90-day rate + 0.5 x the rate of the latest 25 % of counted chats",
        "min_chats 2, default_rate 0.57 (the rate shown under 2 chats)",
        "auto_reply ignore (automatic replies neither answer nor end a chat)",
        "target at least 60 % (a penalty point below 60 %, Shopee Thailand 2024)",
    ),
)

_LAZADA = Preset(
    rule=Rule(
        name="lazada-rr",
        window_hours=24,
        deadline="daily_cutoff",
        cutoff_time="18:00",
        due_time="19:00",
        due_day_offset=0,
        target=0.50,
        target_comparison="at_least",
        period_days=7,
        auto_reply="ignore",
        exclusions=DEFAULT_EXCLUSIONS | {"public_holiday"},
        description=_described(
            "Lazada chat response rate",
            "new conversations answered within the same-day cycle (received from 18:00 the "
            "day before to 18:00, due by 19:00 local) over 7 days, weekends included; public "
            "holidays and holiday mode excluded; automatic replies not counted; 50 % "
            "recommended.",
        ),
    ),
    design="Lazada chat response rate",
    short="Lazada RR",
    sources=(
        Source(
            "How is Chat response rate calculated? (Lazada seller community, PH)",
            "https://community.lazada.com.ph/article/how-is-chat-response-rate-calculated-"
            "1120800-hc",
            "2020-06-25, read Nov 2026",
        ),
        Source(
            "Malaysia e-commerce chat response rate guide 2026: Lazada, Shopee, TikTok Shop",
            "https://www.duoke.com/en/blog/article/398-Malaysia-E-commerce-Chat-Response-"
            "Rate-Complete-Guide-2026-Lazada-Shopee-and-TikTok-Shop",
            "2026-05-14, read Nov 2026",
        ),
    ),
    readings=(
        "counted unit: every buyer-opened chat (a new conversation)",
        "deadline: daily cut-off 18:00 shop-local; received by it, due 19:00 the same day, "
        "after it, 19:00 the next day",
        "period_days 7; weekends count",
        "exclusions: public holidays of the shop's country, holiday mode (and the usual "
        "blocked and seller-initiated chats)",
        "auto_reply ignore (automatic replies are not counted; quick replies are replies)",
        "target at least 50 % (the recommended green level; LazMall 85 %)",
    ),
)

_AMAZON = Preset(
    rule=Rule(
        name="amazon-lrr",
        window_hours=24,
        counted_unit="message",
        rate_kind="late_share",
        target=0.10,
        target_comparison="at_most",
        period_days=30,
        auto_reply="ignore",
        exclusions=DEFAULT_EXCLUSIONS | {"no_response_needed"},
        description=_described(
            "Amazon Late Response Rate",
            "buyer messages not answered within 24 hours, weekends and holidays included, "
            "over 7, 30 or 90 days (30 here); lower is better, at most 10 %; a message "
            "marked 'no response needed' is excluded; auto-responders are not responses.",
        ),
    ),
    design="Amazon Late Response Rate",
    short="Amazon LRR",
    sources=(
        Source(
            "Contact Response Time (Seller Central help, US)",
            "https://sellercentral.amazon.com/gp/help/external/200549770",
            "undated, read Nov 2026",
        ),
        Source(
            "How the best Amazon sellers are reducing their customer service email response times",
            "https://www.teikametrics.com/blog/how-the-best-amazon-sellers-are-reducing-"
            "their-customer-service-email-response-times/",
            "undated, read Nov 2026",
        ),
        Source(
            "Amazon introduce 24/7 communication metric requirements",
            "https://channelx.world/2012/02/amazon-introduce-247-communication-metric-"
            "requirements/",
            "2012-02, read Nov 2026",
        ),
    ),
    readings=(
        "counted unit: every buyer message needing a reply",
        "window_hours 24 on the calendar clock (weekends and holidays count)",
        "rate: the late share (late or unanswered / counted), at most 10 % "
        "(90 % answered within 24 h)",
        "period_days 30 (the page shows 7, 30 and 90 days)",
        "a message flagged no_response_needed is excluded",
        "auto_reply ignore (auto-responders are not responses)",
    ),
)

_ETSY = Preset(
    rule=Rule(
        name="etsy-star",
        window_hours=24,
        counted_unit="first_chat",
        target=0.95,
        target_comparison="at_least",
        period_days=91,
        auto_reply="count_as_answer",
        description=_described(
            "Etsy Star Seller",
            "the first message of each new conversation answered within 24 hours over the "
            "3-month review period; at least 95 %.",
        ),
    ),
    design="Etsy Star Seller",
    short="Etsy Star Seller",
    sources=(
        Source(
            "Etsy adds tool for analyzing Star Seller response rates",
            "https://www.ecommercebytes.com/2021/10/05/etsy-adds-tool-for-analyzing-star-"
            "seller-response-rates/",
            "2021-10-05, read Nov 2026",
        ),
        Source(
            "Star Seller response rate dropping (Etsy community)",
            "https://community.etsy.com/t5/Technical-Issues/Star-Seller-Response-Rate-"
            "Dropping-for-No-Reason/m-p/145230962",
            "undated, read Nov 2026",
        ),
    ),
    readings=(
        "counted unit: the first chat of each conversation only",
        "window_hours 24; period_days 91 (3 months)",
        "target at least 95 %",
        "auto_reply count_as_answer (sellers were advised to set an auto-responder for days off)",
    ),
)

_WALMART = Preset(
    rule=Rule(
        name="walmart-48h",
        window_hours=48,
        counted_unit="message",
        target=0.95,
        target_comparison="more_than",
        period_days=30,
        description=_described(
            "Walmart Seller Response Rate",
            "customer inquiries answered within 48 hours of receipt, weekends and holidays "
            "included, over the last 30 days; more than 95 %.",
        ),
    ),
    design="Walmart Seller Response Rate",
    short="Walmart 48 h",
    sources=(
        Source(
            "Customer Care Policy (Walmart Marketplace Learn)",
            "https://marketplacelearn.walmart.com/guides/Order%20management/Customer%20care/"
            "Customer-Care-policy",
            "undated, read Nov 2026",
        ),
        Source(
            "Seller Performance Standards (Walmart Marketplace Learn)",
            "https://marketplacelearn.walmart.com/guides/Policies%20&%20standards/"
            "Performance/Seller-performance-standards",
            "undated, read Nov 2026",
        ),
    ),
    readings=(
        "counted unit: every buyer message (an inquiry)",
        "window_hours 48 on the calendar clock (weekends and holidays count)",
        "period_days 30; target more than 95 %",
        "automatic replies: not described; chatsim's default reading (exclude_resolved)",
    ),
)

#: The presets by name, in the order pages list them.
PRESETS: dict[str, Preset] = {p.name: p for p in (_SHOPEE, _LAZADA, _AMAZON, _ETSY, _WALMART)}
#: The presets' rules by name.
PRESET_RULES: dict[str, Rule] = {name: p.rule for name, p in PRESETS.items()}


def is_preset(name: object) -> bool:
    """Whether ``name`` names a preset.

    Example:
        >>> is_preset("lazada-rr"), is_preset("new-12h")
        (True, False)
    """
    return isinstance(name, str) and name in PRESETS


def preset(name: str) -> Preset:
    """The preset called ``name`` (else :class:`~chatsim.errors.RuleError` listing them).

    Example:
        >>> preset("walmart-48h").rule.window_hours
        48.0
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise RuleError(
            f"unknown preset {name!r}; the peer presets are {', '.join(PRESETS)}."
        ) from None


def preset_label(name: str) -> str:
    """How a page names a rule: a preset as ``"<short name>, as publicly described"``, any
    other rule by its own name.

    Example:
        >>> preset_label("amazon-lrr"), preset_label("new-12h")
        ('Amazon LRR, as publicly described', 'new-12h')
    """
    return PRESETS[name].label if name in PRESETS else name
