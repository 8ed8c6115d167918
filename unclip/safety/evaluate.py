"""Measure a policy on the labelled prompt sets shipped in ``data/prompts/``.

    python -m unclip.safety.evaluate              # both sets with the default policy
    python -m unclip.safety.evaluate --misses     # also list every miss and false refusal
    python -m unclip.safety.evaluate --policy my_policy.toml

``dev.txt`` is the set the term lists were tuned on; ``heldout.txt`` was written before the lists and not
used to tune them. Recall counts a harmful prompt as caught when it is refused under any category;
"same category" counts those refused under their own label.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from importlib import resources

from unclip.safety.categories import TEXT_CATEGORIES
from unclip.safety.decision import Decision
from unclip.safety.policy import Policy

BENIGN = "benign"
SETS = ("dev", "heldout")


@dataclass(frozen=True)
class Example:
    label: str
    prompt: str
    where: str
    topic: str = ""  # benign prompts written against one category's collisions: "benign:infringement"


@dataclass
class Report:
    name: str
    caught: dict[str, int] = field(default_factory=dict)
    same_category: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    benign_total: int = 0
    false_refusals: list[tuple[Example, Decision]] = field(default_factory=list)
    benign_topics: dict[str, int] = field(default_factory=dict)  # topic -> benign prompts written for it
    misses: list[tuple[Example, Decision]] = field(default_factory=list)
    seconds: float = 0.0

    def recall(self, category: str | None = None) -> float:
        if category is None:
            return sum(self.caught.values()) / max(1, sum(self.total.values()))
        return self.caught.get(category, 0) / max(1, self.total.get(category, 0))

    @property
    def false_refusal_rate(self) -> float:
        return len(self.false_refusals) / max(1, self.benign_total)

    def topic_false_refusals(self, topic: str) -> list[tuple[Example, Decision]]:
        return [(e, d) for e, d in self.false_refusals if e.topic == topic]

    @property
    def harmful_total(self) -> int:
        return sum(self.total.values())


def load_set(name: str) -> list[Example]:
    """The labelled prompts of ``data/prompts/{name}.txt`` (label TAB prompt per line)."""
    text = resources.files("unclip.safety").joinpath(f"data/prompts/{name}.txt").read_text("utf-8")
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        label, prompt = line.split("\t", 1)
        label, _, topic = label.partition(":")  # benign:infringement -> benign, topic infringement
        if (label != BENIGN and label not in TEXT_CATEGORIES) or (topic and topic not in TEXT_CATEGORIES):
            raise ValueError(f"{name}.txt:{lineno}: unknown label {label!r}")
        out.append(Example(label, prompt, f"{name}.txt:{lineno}", topic))
    return out


def evaluate(policy: Policy, examples: list[Example], name: str = "") -> Report:
    report = Report(name)
    policy.check_prompt("")  # loads the term lists and the classifier outside the timing
    start = time.perf_counter()
    for example in examples:
        decision = policy.check_prompt(example.prompt)
        if example.label == BENIGN:
            report.benign_total += 1
            if example.topic:
                report.benign_topics[example.topic] = report.benign_topics.get(example.topic, 0) + 1
            if not decision.allowed:
                report.false_refusals.append((example, decision))
            continue
        report.total[example.label] = report.total.get(example.label, 0) + 1
        if decision.allowed:
            report.misses.append((example, decision))
        else:
            report.caught[example.label] = report.caught.get(example.label, 0) + 1
            if decision.category == example.label:
                report.same_category[example.label] = report.same_category.get(example.label, 0) + 1
    report.seconds = time.perf_counter() - start
    return report


def format_report(report: Report, misses: bool = False) -> str:
    lines = [
        f"## {report.name}: {report.harmful_total} harmful, {report.benign_total} benign prompts",
        "",
        "| category | prompts | refused (recall) | under its own category |",
        "| --- | --- | --- | --- |",
    ]
    for category in TEXT_CATEGORIES:
        total = report.total.get(category, 0)
        if total:
            lines.append(
                f"| {category} | {total} | {report.caught.get(category, 0)} ({report.recall(category):.1%}) "
                f"| {report.same_category.get(category, 0)} |"
            )
    lines.append(
        f"| **all harmful** | {report.harmful_total} | {sum(report.caught.values())} "
        f"({report.recall():.1%}) | {sum(report.same_category.values())} |"
    )
    lines.append(
        f"| **benign (false refusals)** | {report.benign_total} | {len(report.false_refusals)} "
        f"({report.false_refusal_rate:.1%}) | |"
    )
    for topic, total in report.benign_topics.items():
        wrong = len(report.topic_false_refusals(topic))
        lines.append(
            f"| of which written against {topic} collisions | {total} | {wrong} ({wrong / total:.1%}) | |"
        )
    per_prompt = report.seconds / max(1, report.harmful_total + report.benign_total) * 1000
    lines += ["", f"mean check time: {per_prompt:.2f} ms per prompt"]
    if misses:
        lines += ["", "missed:"] + [f"  {e.where} [{e.label}] {e.prompt}" for e, _ in report.misses]
        lines += ["", "false refusals:"] + [
            f"  {e.where} -> {d.category} {d.score:.2f}: {e.prompt}" for e, d in report.false_refusals
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--policy", help="policy file (default: the shipped policy)")
    parser.add_argument("--misses", action="store_true", help="list misses and false refusals")
    parser.add_argument("--set", choices=SETS, action="append", help="which set(s) to run (default: both)")
    args = parser.parse_args(argv)
    policy = Policy.from_file(args.policy) if args.policy else Policy.default()
    for name in args.set or SETS:
        print(format_report(evaluate(policy, load_set(name), name), misses=args.misses))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
