"""The PrometheusRule's alerts, the series each expression reads, and a check against scraped /metrics."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import promql_parser
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.manifests import ROOT, rendered

# Added by Prometheus to every series it scrapes (podmonitor.yaml), never by the services.
TARGET_LABELS = frozenset({"job", "namespace", "pod", "instance", "container", "endpoint", "service"})
# Series Prometheus makes itself for every target.
SCRAPE_SERIES = frozenset({"up"})
COUNTER_FUNCTIONS = frozenset({"rate", "increase", "irate"})


@dataclass
class SeriesUse:
    """How an expression uses one metric: the labels it matches or groups by, counter functions over it."""

    labels: set[str] = field(default_factory=set)
    counter_functions: set[str] = field(default_factory=set)


RULE_FILE = ROOT / "deploy" / "k8s" / "monitoring" / "prometheusrule.yaml"


def _alerts(docs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        rule
        for doc in docs
        if doc["kind"] == "PrometheusRule"
        for group in doc["spec"]["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def alert_rules(target: str | None = None) -> list[dict[str, Any]]:
    """Every alerting rule: of the committed file, or of a rendered kustomize target."""
    if target is not None:
        return _alerts(rendered(target))
    return _alerts(yaml.safe_load_all(RULE_FILE.read_text(encoding="utf-8")))


def series_used(expr: str) -> dict[str, SeriesUse]:
    """Metric name -> how `expr` uses it (raises ValueError when `expr` is not PromQL)."""
    uses: dict[str, SeriesUse] = defaultdict(SeriesUse)
    _walk(promql_parser.parse(expr), uses, grouping=set(), functions=set())
    return dict(uses)


def _walk(node: Any, uses: dict[str, SeriesUse], *, grouping: set[str], functions: set[str]) -> None:
    if isinstance(node, promql_parser.VectorSelector):
        names = [m.value for m in node.matchers.matchers if m.name == "__name__"]
        name = node.name or (names[0] if names else "")
        use = uses[name]
        use.labels |= {m.name for m in node.matchers.matchers if m.name != "__name__"} | grouping
        use.counter_functions |= functions
    elif isinstance(node, promql_parser.MatrixSelector):
        _walk(node.vector_selector, uses, grouping=grouping, functions=functions)
    elif isinstance(node, promql_parser.AggregateExpr):
        labels = set(node.modifier.labels) if node.modifier is not None else set()
        _walk(node.expr, uses, grouping=grouping | labels, functions=functions)
    elif isinstance(node, promql_parser.Call):
        name = node.func.name
        inner = functions | ({name} if name in COUNTER_FUNCTIONS else set())
        for arg in node.args:
            _walk(arg, uses, grouping=grouping, functions=inner)
    elif isinstance(node, promql_parser.BinaryExpr):
        on = set(node.modifier.matching.labels) if node.modifier and node.modifier.matching else set()
        _walk(node.lhs, uses, grouping=grouping | on, functions=functions)
        _walk(node.rhs, uses, grouping=grouping | on, functions=functions)
    elif isinstance(node, (promql_parser.ParenExpr, promql_parser.UnaryExpr, promql_parser.SubqueryExpr)):
        _walk(node.expr, uses, grouping=grouping, functions=functions)
    elif not isinstance(node, (promql_parser.NumberLiteral, promql_parser.StringLiteral)):
        raise TypeError(f"unexpected PromQL node {type(node).__name__}")


@dataclass(frozen=True)
class Exposed:
    """One metric family as a service exposes it: its type and every label its samples carry."""

    kind: str
    sample_names: frozenset[str]
    labels: frozenset[str]


def exposed_metrics(texts: Iterable[str]) -> dict[str, Exposed]:
    """Sample name -> family, from the Prometheus text of every service."""
    found: dict[str, Exposed] = {}
    for text in texts:
        for family in text_string_to_metric_families(text):
            names = {family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",))}
            labels = frozenset(label for sample in family.samples for label in sample.labels if label != "le")
            for name in names:
                previous = found.get(name)
                merged = labels | (previous.labels if previous else frozenset())
                found[name] = Exposed(family.type, frozenset(names), merged)
    return found


_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count", ""),
}


def mismatches(expr: str, exposed: dict[str, Exposed]) -> list[str]:
    """What `expr` reads that no service exposes: unknown metrics, labels no sample has, rate() of a non-counter."""
    problems = []
    for name, use in series_used(expr).items():
        if name in SCRAPE_SERIES:
            continue
        family = exposed.get(name)
        if family is None:
            problems.append(f"{name}: no service exposes it")
            continue
        missing = use.labels - TARGET_LABELS - family.labels
        if missing:
            problems.append(f"{name}: no sample carries label(s) {sorted(missing)}")
        if use.counter_functions and family.kind != "counter":
            problems.append(f"{name}: {sorted(use.counter_functions)} of a {family.kind}")
    return problems
