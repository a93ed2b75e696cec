"""`fraud label LABELS --state PATH`: labels that arrive after the fact (chargebacks, reversed
chargebacks), given to a feature state.

Each row (`transaction_id`, `is_fraud`, optional `label_time`) is applied, changes a label
given before, repeats one (unchanged), names a transaction the state does not hold within its
dedupe window (unknown: a reject), or is rejected (a missing or bad field, or an id given two
different labels in the file). `read = applied + changed + unchanged + unknown + rejected`.
What a label does to the features is `fraudcli.features.labels`: visible from the later of
its transaction's t + d and its arrival (`label_time`, else the state's newest event time).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from fraudcli.config.load import Config, parse_mapping
from fraudcli.errors import UsageError
from fraudcli.features.labels import UNKNOWN
from fraudcli.files import check_distinct
from fraudcli.io.formats import Format, detect_format, ensure_readable
from fraudcli.io.raw_rows import raw_rows
from fraudcli.records.labels import LABEL_FIELDS, Label, labels_of
from fraudcli.records.rejects import Reject, RejectSink, dumps_raw
from fraudcli.scoring.load import open_bundle
from fraudcli.state.keeper import StateKeeper, StateOptions


@dataclass
class LabelSummary:
    read: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # applied, changed, unchanged, unknown
    rejected: int = 0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    arrival: float | None = None  # when a label without a label_time arrived (event time)

    def to_dict(self) -> dict:
        counts = {k: self.outcomes.get(k, 0) for k in ("applied", "changed", "unchanged", UNKNOWN)}
        return {"read": self.read, **counts, "rejected": self.rejected} | {
            "reject_reasons": self.reject_reasons,
            "arrival": self.arrival,
        }


def label_renames(config: Config, mapping: list[str] | None) -> dict[str, str]:
    """Label field -> column: `[columns]` of fraud.toml for transaction_id and is_fraud, then
    `--map FIELD=COLUMN` (transaction_id, is_fraud, label_time)."""
    renames = {name: source for name, source in config.columns.mapping if name in LABEL_FIELDS}
    given = parse_mapping(mapping or [])
    unknown = sorted(set(given) - set(LABEL_FIELDS))
    if unknown:
        raise UsageError(f"--map: a label file has {', '.join(LABEL_FIELDS)}, not {unknown[0]}")
    return renames | given


def label_file(
    labels: Path | None,
    *,
    state_path: str | Path,
    config: Config,
    model_dir: Path | None = None,
    rejects_path: Path | None = None,
    mapping: list[str] | None = None,
) -> LabelSummary:
    """Give the labels in `labels` (JSONL on stdin when None) to the state at `state_path`
    (started from the bundle's when there is none yet) and write it back (a Redis state:
    each label applied by its own script, atomically)."""
    if labels is not None and str(labels) != "-":
        ensure_readable(labels)
    renames = label_renames(config, mapping)
    options = StateOptions(state_path)  # a directory, or a Redis state (redis_url)
    check_distinct([labels], [("--rejects", rejects_path), ("--state", options.path)])
    staged = None
    with StateKeeper(options.path, "label") if options.path else nullcontext() as keeper:
        opened = open_bundle(
            config, model_dir, state_path=options.path, redis=options.redis, command="label"
        )
        store = opened.pipeline.store
        lenient = labels is not None and detect_format(labels) is Format.CSV
        rows = labels_of(raw_rows(labels, renames), lenient)
        given = [item for _, _, item in rows if isinstance(item, Label)]
        summary = LabelSummary(read=len(rows), arrival=store.newest if given else None)
        outcomes = iter(store.label(given))
        with RejectSink(rejects_path) as sink:
            for line, raw, item in rows:
                if isinstance(item, Label):
                    outcome = next(outcomes)
                    summary.outcomes[outcome] = summary.outcomes.get(outcome, 0) + 1
                    if outcome != UNKNOWN:
                        continue
                    item = _unknown(line, raw, item)
                else:
                    summary.rejected += 1
                sink.add(item)
            summary.reject_reasons = dict(sink.reasons)
            if keeper is not None:  # (a Redis state holds each label as it is given)
                staged = keeper.stage(store.snapshot(), store.config, len(given), "labels")
    if staged is not None:
        staged.commit()
    return summary


def _unknown(line: int, raw: str | None, label: Label) -> Reject:
    reason = (
        "unknown transaction_id, not in the state (never scored, or older than its dedupe "
        f"window): {label.transaction_id!r}"
    )
    fields = {"transaction_id": label.transaction_id, "is_fraud": label.is_fraud}
    return Reject(line, reason, raw or dumps_raw(fields))
