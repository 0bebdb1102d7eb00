"""Your rule among peers: the same log under the old, the new and peer marketplaces' rules.

Everything here reads one :class:`~chatsim.metrics.Evaluation` of the same shops under
several rules (:func:`compare_peers`: the report's rules, old first and new last, then the
peer rules, e.g. the presets of :mod:`chatsim.presets`) and returns small polars tables a
page charts directly (:mod:`chatsim.charts.peers`):

* :func:`pass_shares`: per rule, the share of rated shops meeting it, with the range the
  shops' own 95 % Wilson intervals allow (``share_low``: only the shops whose standing is
  clear or not measured; ``share_high``: also every shop too close to call) and the
  difference from the new rule in percentage points; :func:`with_replication_ranges` adds
  the 95 % interval over replications of the scenario;
* :func:`disagreement`: for every pair of rules, the shops rated under both that one
  passes and the other fails;
* :func:`split_shops`: the shops that pass under some rules and fail under others;
* :func:`favours`: per seller type and rule, the share passing and its difference from
  the new rule (pp): which seller types each design favours;
* :func:`distance_from_new`: how far the new rule sits from each other design (shops
  classified differently, pass share difference), with a sentence per design;
* :func:`peer_key_numbers` and :func:`peer_takeaways`: what the page says first, and
  :func:`designs_table` and :func:`design_sources` the designs compared and their sources.

The tables are :mod:`.tables`, the words :mod:`.text`.

A shop is *rated* under a rule when ``meets_target`` is not null (it has counted chats, or a
default rate). Shares are fractions; ``format_pp`` shows differences in pp.

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.rules import NEW_12H
    >>> ev = compare_peers(sample_log(), ["legacy-24h", "new-12h"],
    ...                    [NEW_12H.replace(name="new-48h", window_hours=48)])
    >>> pass_shares(ev, "new-12h")["rule"].to_list()
    ['legacy-24h', 'new-12h', 'new-48h']
"""

from chatsim.peers.tables import (
    RuleRef,
    compare_peers,
    disagreement,
    distance_from_new,
    favours,
    pass_shares,
    peer_rules,
    rated_counts,
    replicate_peers,
    rule_labels,
    split_shops,
    with_replication_ranges,
)
from chatsim.peers.text import (
    FEW_SHOPS,
    PeerNumbers,
    design_sources,
    designs_table,
    distance_takeaways,
    peer_key_numbers,
    peer_takeaways,
)

__all__ = [
    "FEW_SHOPS",
    "PeerNumbers",
    "RuleRef",
    "compare_peers",
    "design_sources",
    "designs_table",
    "disagreement",
    "distance_from_new",
    "distance_takeaways",
    "favours",
    "pass_shares",
    "peer_key_numbers",
    "peer_rules",
    "peer_takeaways",
    "rated_counts",
    "replicate_peers",
    "rule_labels",
    "split_shops",
    "with_replication_ranges",
]
