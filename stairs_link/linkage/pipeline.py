"""The linkage run: block -> compare -> train (u sample, EM) -> score -> deterministic pass ->
decisions -> cluster -> outputs. Pairs are processed in chunks; per pair only two int32
record indices, one packed int64 comparison pattern and a uint32 rule mask are held.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stairs_link import progress as progress_report
from stairs_link.errors import LinkageError
from stairs_link.linkage.blocking import BlockingPlan, blocked_pairs, plan_blocking
from stairs_link.linkage.bloom_comparisons import (
    check_config_fits,
    config_for_person,
    config_for_staged,
    is_pseudonymised,
    pseudonymisation_of,
)
from stairs_link.linkage.cluster import CannotLink, cluster
from stairs_link.linkage.compare import compare
from stairs_link.linkage.config import Comparison, LinkageConfig
from stairs_link.linkage.model import (
    FSModel,
    estimate_u,
    pack,
    pattern_base,
    unpack,
)
from stairs_link.linkage.prepare import Features
from stairs_link.linkage.review import decision_estimates, excel_safe, level_labels, read_decisions, unsure_pairs
from stairs_link.linkage.shared import (
    Clock,
    add_decision_figures,
    decision_pairs,
    decisions_summary,
    deterministic_fields,
    deterministic_pass,
    duplicate_record_key_error,
    fit_model,
    missing_record_key_error,
    model_with_overrides,
    null_record_key_error,
    tf_form,
    thresholds_summary,
    write_json,
)
from stairs_link.schema import read_table
from stairs_link.schema.extracts import FILE_COLUMN, Superseded, supersede
from stairs_link.schema.outputs import OutputUnit, output_unit, verify_dataset
from stairs_link.schema.tables import columns_of


@dataclass
class LinkOutput:
    """Result of a linkage run (see docs/linkage.md for every column)."""

    clusters: pd.DataFrame
    pairs: pd.DataFrame
    model: dict[str, Any]
    summary: dict[str, Any]
    review: pd.DataFrame
    explain: str = ""


@dataclass
class _Pairs:
    i: list[np.ndarray] = field(default_factory=list)
    j: list[np.ndarray] = field(default_factory=list)
    code: list[np.ndarray] = field(default_factory=list)
    mask: list[np.ndarray] = field(default_factory=list)

    def add(self, i: np.ndarray, j: np.ndarray, code: np.ndarray, mask: np.ndarray) -> None:
        self.i.append(i)
        self.j.append(j)
        self.code.append(code)
        self.mask.append(mask)

    def chunks(self):
        return zip(self.i, self.j, self.code, self.mask)

    def __len__(self) -> int:
        return int(sum(len(x) for x in self.i))


def _check_person(person: pd.DataFrame, config: LinkageConfig) -> None:
    key = config.record_key
    if key not in person.columns:
        raise missing_record_key_error(key)
    keys = person[key]
    if keys.isna().any():
        row = int(np.flatnonzero(keys.isna().to_numpy())[0]) + 1
        raise null_record_key_error(key, row)
    dup = keys.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0]) + 1
        raise duplicate_record_key_error(key, keys[dup].iloc[0], int(dup.sum()), row)


def _random_pairs(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    size = int(min(size, n * (n - 1) // 2))
    i = rng.integers(0, n, size)
    j = rng.integers(0, n - 1, size)
    j = j + (j >= i)  # uniform over j != i
    return i.astype(np.int32), j.astype(np.int32)


def _tf_tables(config: LinkageConfig, feats: Features) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """comparison index -> (fold codes per record, relative frequency per distinct value)."""
    tables = {}
    for k, c in enumerate(config.comparisons):
        if c.term_frequency:
            codes, values = feats.strings(c.column, tf_form(c.kind), c.null_values)
            counts = np.bincount(codes[codes >= 0], minlength=len(values)).astype(np.float64)
            tables[k] = (codes, counts / max(counts.sum(), 1.0))
    return tables


def _score(fs: FSModel, gamma: np.ndarray, i: np.ndarray, tf: dict[int, tuple[np.ndarray, np.ndarray]]
           ) -> tuple[np.ndarray, np.ndarray]:
    """(partial weights, match weights) for a chunk; term-frequency adjustment on exact levels:
    the exact-level u is replaced by the frequency of the agreed value (floored)."""
    pw = fs.partial_weights(gamma)
    for k, (codes, freq) in tf.items():
        top = len(fs.m[k]) - 1
        exact = gamma[:, k] == top
        if exact.any():
            f = np.maximum(freq[codes[i[exact]]], 1.0 / max(len(codes), 1))
            pw[exact, k] = (np.log2(fs.m[k][top]) - np.log2(f)).astype(np.float32)
    return pw, fs.prior_weight + pw.sum(axis=1, dtype=np.float64)


def _probability(weight: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-np.clip(weight, -200, 200)))


def _decision_pairs(decisions: pd.DataFrame | None, keys: pd.Series
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Decisions as (i, j, is_match) record indices, i < j; also the count of unknown keys."""
    if decisions is None or len(decisions) == 0:
        empty = np.zeros(0, dtype=np.int32)
        return empty, empty, np.zeros(0, dtype=bool), 0
    index = pd.Index(keys)
    a = index.get_indexer(decisions["record_key_l"].astype(str))
    b = index.get_indexer(decisions["record_key_r"].astype(str))
    return decision_pairs(a, b, decisions, np.int32)


def link_table(person: pd.DataFrame, config: LinkageConfig | None = None, *, model: dict | None = None,
               decisions: pd.DataFrame | None = None, progress: bool = False,
               known: np.ndarray | None = None, threshold_from_decisions: bool = False) -> LinkOutput:
    """Link the records of one person table (all sites and systems together) into children.

    ``model``: a dict from a previous run's model.json; its configuration and parameters are
    used as they are (no training), so the same input gives identical results.
    ``decisions``: reviewer decisions (record_key_l, record_key_r, decision) overriding the model
    (``unsure`` rows are left to the model); they also give precision and recall at the threshold
    (summary ``decision_estimates``). With ``threshold_from_decisions`` the link threshold is the
    one the decisions suggest (see :func:`review.decision_estimates`), when they suggest one.
    ``known``: incremental linkage: per record, the child an earlier run put it in (None for a
    new or changed record). Only pairs holding a new record are compared; each earlier child's
    records stay together and new records join them through scored pairs.
    """
    clock = Clock(progress)
    fs: FSModel | None = None
    if model is not None:
        fs, config = FSModel.from_dict(model)
    if config is None:  # pseudonymised input gets the `pseudonymised` preset (Bloom encodings)
        config = config_for_person(person)
    check_config_fits(config, is_pseudonymised(person))
    _check_person(person, config)
    person = person.reset_index(drop=True)
    # A canonical column absent from the table is all-null by the schema's contract (as
    # schema.to_arrow does); any other column the configuration names must be present.
    used = {col for c in config.comparisons for col in c.columns()} | {
        col for r in config.blocking for col in r.columns()}
    absent = sorted(c.name for c in columns_of("person") if c.name in used and c.name not in person.columns)
    if absent:
        person = person.assign(**{name: pd.Series(pd.NA, index=person.index, dtype="object") for name in absent})
    n = len(person)
    feats = Features(person)
    comps = config.comparisons
    base = pattern_base(comps)
    new = None if known is None else pd.isna(pd.Series(known, dtype=object)).to_numpy()
    plan = plan_blocking(config, feats, new)
    plan.check(config.max_pairs)
    clock.lap("blocking plan")

    pairs = _Pairs()
    counts: list[pd.Series] = []
    with progress_report.stage("link: comparing pairs", total=plan.total, unit="pairs") as bar:
        for i, j, mask, _ in blocked_pairs(plan, config.chunk_pairs, advance=bar.advance):
            code = pack(compare(comps, feats, i, j), base)
            pairs.add(i, j, code, mask)
            counts.append(pd.DataFrame({"code": code, "mask": mask}).value_counts())
    di, dj, dmatch, unknown_decisions = _decision_pairs(decisions, person[config.record_key])
    extra = plan.rule_mask(di, dj) == 0 if len(di) else np.zeros(0, dtype=bool)
    if extra.any():  # decided pairs no blocking rule finds: compare them too
        code = pack(compare(comps, feats, di[extra], dj[extra]), base)
        pairs.add(di[extra], dj[extra], code, np.zeros(int(extra.sum()), dtype=np.uint32))
    clock.lap("blocking and comparison")

    patterns = (pd.concat(counts).groupby(level=["code", "mask"]).sum().rename("n").reset_index()
                if counts else pd.DataFrame({"code": np.zeros(0, np.int64), "mask": np.zeros(0, np.uint32),
                                             "n": np.zeros(0, np.int64)}))
    total_pairs = n * (n - 1) / 2
    if fs is None:
        ri, rj = _random_pairs(n, config.u_sample_pairs, config.seed)
        step = 250_000  # chunks keep the string-kernel temporaries small
        with progress_report.stage("link: random pairs for u", total=len(ri), unit="pairs") as bar:
            sampled = []
            for s in range(0, max(len(ri), 1), step):
                sampled.append(compare(comps, feats, ri[s:s + step], rj[s:s + step]))
                bar.advance(len(ri[s:s + step]))
        u = estimate_u(np.concatenate(sampled), comps)
        fs = fit_model(patterns, config, u, base, total_pairs,
                       {"u_sample_pairs": int(len(ri)), "records": n, "blocked_pairs": len(pairs)})
        clock.lap("training")

    tf = _tf_tables(config, feats)
    chosen = None
    if threshold_from_decisions and len(di):
        _, dweight = _score(fs, compare(comps, feats, di, dj), di, tf)
        chosen = decision_estimates(_probability(dweight), dmatch, config.link_threshold)["suggested_threshold"]
        if chosen is not None:
            config = dataclasses.replace(config, link_threshold=chosen)
    det_ks, _, demo_ks, name_date_ks = deterministic_fields(config)
    dec_ids = pd.Series(dmatch, index=di.astype(np.int64) * n + dj) if len(di) else pd.Series(dtype=bool)
    kept: list[pd.DataFrame] = []
    edges: list[tuple[np.ndarray, ...]] = []
    counters = {"deterministic_links": 0, "deterministic_conflicts": 0}
    suspect: dict[str, list[np.ndarray]] = {comps[k].name: [] for k in det_ks}
    for i, j, code, mask in progress_report.track(pairs.chunks(), "link: scoring pairs", total=len(pairs),
                                                  unit="pairs", size=lambda chunk: len(chunk[0])):
        gamma = unpack(code, len(comps), base)
        pw, weight = _score(fs, gamma, i, tf)
        prob = _probability(weight)
        det, conflict = deterministic_pass(gamma, pw, config, det_ks, demo_ks, name_date_ks)
        for k in det_ks:  # an identifier shared by demographically conflicting records is suspect
            hit = conflict & (gamma[:, k] == len(comps[k].levels()) - 1)
            suspect[comps[k].name].extend((i[hit], j[hit]))
        det &= ~conflict
        counters["deterministic_links"] += int(det.sum())
        counters["deterministic_conflicts"] += int(conflict.sum())
        has_dec = np.zeros(len(i), dtype=bool)
        dec_match = np.zeros(len(i), dtype=bool)
        if len(dec_ids):
            hit = dec_ids.reindex(i.astype(np.int64) * n + j).to_numpy()
            has_dec = pd.notna(hit)
            dec_match = has_dec & (hit == True)  # noqa: E712 - object array of True/False/NaN
        accept = np.where(has_dec, dec_match, (det | (prob >= config.link_threshold)) & ~conflict)
        order_weight = np.where(det, np.inf, weight)
        edges.append((i[accept], j[accept], order_weight[accept], dec_match[accept]))
        keep = (prob >= config.keep_pairs_min_probability) | det | conflict | has_dec
        if keep.any():
            found = np.where(mask[keep] > 0, np.log2((mask[keep] & -mask[keep].astype(np.int64)).clip(1)), -1)
            frame = pd.DataFrame({"i": i[keep], "j": j[keep], "match_weight": weight[keep],
                                  "match_probability": prob[keep], "found_by": found.astype(np.int16),
                                  "deterministic": det[keep], "identifier_conflict": conflict[keep],
                                  "decision": np.where(has_dec[keep], np.where(dec_match[keep], "match",
                                                                               "non-match"), None),
                                  "linked": accept[keep]})
            for k, c in enumerate(comps):
                frame[f"gamma_{c.name}"] = gamma[keep, k]
                frame[f"bf_{c.name}"] = pw[keep, k]
            kept.append(frame)
    clock.lap("scoring")

    if known is not None:  # an earlier run's children hold together (forced edges)
        ki, kj = _known_edges(known)
        edges.append((ki, kj, np.full(len(ki), np.inf), np.ones(len(ki), dtype=bool)))
    if edges:
        ei, ej, ew, ef = (np.concatenate(x) for x in zip(*edges))
    else:
        ei, ej, ew, ef = np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0), np.zeros(0, bool)
    rules = CannotLink(
        identifiers={comps[k].name: _valid_codes(feats, comps[k], suspect.get(comps[k].name))
                     for k in range(len(comps)) if comps[k].name in config.cannot_link_identifiers},
        source=(pd.MultiIndex.from_frame(person[list(config.source_columns)].astype(str)).factorize()[0]
                if config.cannot_link_same_source else None),
        forbidden_i=di[~dmatch], forbidden_j=dj[~dmatch])
    labels, cstats = cluster(n, ei.astype(np.int64), ej.astype(np.int64), ew.astype(np.float64),
                             ef.astype(bool), rules)
    clusters = _clusters_frame(person[config.record_key], labels)
    clock.lap("clustering")

    keys = person[config.record_key].to_numpy()
    pairs_df = pd.concat(kept, ignore_index=True) if kept else _empty_pairs(comps)
    pairs_df.insert(0, "record_key_l", keys[pairs_df["i"].to_numpy()] if len(pairs_df) else pd.Series(dtype=str))
    pairs_df.insert(1, "record_key_r", keys[pairs_df["j"].to_numpy()] if len(pairs_df) else pd.Series(dtype=str))
    names = np.array([r.name for r in config.blocking] + ["decision"], dtype=object)
    pairs_df["found_by"] = names[pairs_df["found_by"].to_numpy()]
    review = _review(pairs_df, person, config, unsure_pairs(decisions))
    pairs_df = pairs_df.drop(columns=["i", "j"]).sort_values("match_weight", ascending=False,
                                                             ignore_index=True, kind="stable")
    model_dict = fs.to_dict(config)
    summary = _summary(config, plan, pairs, pairs_df, clusters, cstats, counters, fs, clock,
                       len(di), unknown_decisions, n)
    summary["absent_columns_treated_as_empty"] = absent
    summary["review_pairs"] = int(len(review))
    decided = pairs_df[pairs_df["decision"].notna()]
    add_decision_figures(summary, decisions, decided["match_probability"].to_numpy(),
                         (decided["decision"] == "match").to_numpy(), config.link_threshold,
                         "applied" if chosen is not None else "not enough decisions" if threshold_from_decisions
                         else "off")
    return LinkOutput(clusters, pairs_df, model_dict, summary, review, plan.explain())


def _known_edges(known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining each earlier child's records: the first record to each other one."""
    labels = pd.Series(known, dtype=object)
    has = np.flatnonzero(labels.notna().to_numpy())
    if len(has) < 2:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    codes, _ = pd.factorize(labels.iloc[has])
    order = np.argsort(codes, kind="stable")
    rec, code = has[order], codes[order]
    first = np.r_[True, code[1:] != code[:-1]]
    head = rec[np.maximum.accumulate(np.where(first, np.arange(len(rec)), 0))]
    return head[~first].astype(np.int32), rec[~first].astype(np.int32)


def _valid_codes(feats: Features, comp: Comparison, suspect: list[np.ndarray] | None) -> np.ndarray:
    """Valid identifier codes per record for cannot-link (-1: none). Records whose value is
    shared with a demographically conflicting record (``suspect``: likely a sibling's number
    keyed by mistake) do not impose the rule with that value, so they can still join the
    records of their own child."""
    codes, _ = feats.strings(comp.column, "compact", comp.null_values)
    ok = feats.valid_identifier(comp.column, comp.validator)
    codes = np.where(np.append(ok, False)[codes], codes, -1)
    if suspect:
        codes[np.concatenate(suspect)] = -1
    return codes


def _empty_pairs(comps: tuple[Comparison, ...]) -> pd.DataFrame:
    cols = {"i": np.zeros(0, np.int64), "j": np.zeros(0, np.int64), "match_weight": np.zeros(0),
            "match_probability": np.zeros(0), "found_by": np.zeros(0, np.int16),
            "deterministic": np.zeros(0, bool), "identifier_conflict": np.zeros(0, bool),
            "decision": np.zeros(0, object), "linked": np.zeros(0, bool)}
    for c in comps:
        cols[f"gamma_{c.name}"] = np.zeros(0, np.int8)
        cols[f"bf_{c.name}"] = np.zeros(0, np.float32)
    return pd.DataFrame(cols)


def _clusters_frame(keys: pd.Series, labels: np.ndarray) -> pd.DataFrame:
    """cluster_id numbered by each cluster's smallest record key (deterministic across runs)."""
    frame = pd.DataFrame({"record_key": keys.astype(str).to_numpy(), "label": labels})
    first = frame.groupby("label")["record_key"].min().sort_values()
    rank = pd.Series(np.arange(len(first)), index=first.index)
    frame["cluster_id"] = "child-" + pd.Series(rank.reindex(frame["label"]).to_numpy()).astype(str).str.zfill(7)
    frame["cluster_size"] = frame.groupby("label")["record_key"].transform("size").astype(np.int32)
    return frame[["record_key", "cluster_id", "cluster_size"]]


def _review(pairs_df: pd.DataFrame, person: pd.DataFrame, config: LinkageConfig,
            unsure: set[frozenset[str]] | None = None) -> pd.DataFrame:
    """The review sheet: undecided pairs in the review band or with an identifier conflict, with
    both records' values, then each comparison's level label and partial weight (``<name>_level``,
    ``<name>_weight``); pairs last decided ``unsure`` carry that decision."""
    lo, hi = config.review_band
    p = pairs_df["match_probability"]
    band = (p >= lo) & (p < hi) & ~pairs_df["deterministic"]
    sel = (band | pairs_df["identifier_conflict"]) & pairs_df["decision"].isna()
    rows = pairs_df[sel]
    decision = np.full(len(rows), "", dtype=object)
    if unsure:
        decision[[frozenset(k) in unsure for k in zip(rows["record_key_l"], rows["record_key_r"])]] = "unsure"
    out = pd.DataFrame({
        "record_key_l": rows["record_key_l"], "record_key_r": rows["record_key_r"],
        "match_probability": rows["match_probability"].round(4), "match_weight": rows["match_weight"].round(2),
        "reason": np.where(rows["identifier_conflict"], "identifier_conflict", "uncertain"),
        "decision": decision,
    })
    columns = list(dict.fromkeys(col for c in config.comparisons for col in c.columns()))
    for col in columns:
        if col.endswith("_bf"):  # Bloom encodings (pseudonymised mode): nothing a reviewer can read
            continue
        values = person[col].astype("string")
        out[f"{col}_l"] = values.to_numpy()[rows["i"].to_numpy()]
        out[f"{col}_r"] = values.to_numpy()[rows["j"].to_numpy()]
    for c in config.comparisons:
        out[f"{c.name}_level"] = level_labels(rows[f"gamma_{c.name}"], c.levels())
        out[f"{c.name}_weight"] = rows[f"bf_{c.name}"].astype(np.float64).round(2).to_numpy()
    return excel_safe(out.sort_values("match_probability", ascending=False, ignore_index=True))


def _summary(config: LinkageConfig, plan: BlockingPlan, pairs: _Pairs, pairs_df: pd.DataFrame,
             clusters: pd.DataFrame, cstats: dict[str, int], counters: dict[str, int], fs: FSModel,
             clock: Clock, n_decisions: int, unknown_decisions: int, n: int) -> dict[str, Any]:
    """summary.json: counts, thresholds, pairs per rule, cluster sizes, timings (no personal data)."""
    found_by = pairs_df["found_by"].value_counts()
    sizes = clusters.drop_duplicates("cluster_id")["cluster_size"]
    large = clusters[clusters["cluster_size"] > config.max_cluster_size].drop_duplicates("cluster_id")
    return {
        "records": n,
        "children": int(clusters["cluster_id"].nunique()),
        "candidate_pairs_by_rule": plan.counts,
        "compared_pairs": len(pairs),
        "kept_pairs": int(len(pairs_df)),
        "kept_pairs_found_by_rule": {k: int(v) for k, v in found_by.items()},
        "linked_pairs": int(pairs_df["linked"].sum()),
        "deterministic_links": counters["deterministic_links"],
        "deterministic_conflicts": counters["deterministic_conflicts"],
        "review_pairs": None,  # set by link_table once the review sheet is built
        "decisions": decisions_summary(n_decisions, unknown_decisions),
        "thresholds": thresholds_summary(config),
        "prior_match_probability": fs.prior,
        "clustering": cstats,
        "cluster_size_distribution": {str(k): int(v) for k, v in sizes.value_counts().sort_index().items()},
        "large_cluster_count": int(len(large)),
        "large_clusters": [{"cluster_id": r.cluster_id, "size": int(r.cluster_size)}  # the 100 largest
                           for r in large.nlargest(100, "cluster_size").itertuples()],
        "max_cluster_size": config.max_cluster_size,
        "timings_seconds": clock.timings,
    }


def read_person(staged_dirs: list[Path], stats: Superseded | None = None,
                earlier: pd.DataFrame | None = None) -> pd.DataFrame:
    """person.parquet of every staged directory, concatenated; when several extracts of a
    system hold the same record, the latest version is kept (``stats`` counts the others;
    see :mod:`stairs_link.schema.extracts`). ``earlier``: person rows of a previous dataset
    (with ``_staged_file``), an extract older than every staged directory; with it the result
    keeps ``_staged_file`` so callers can tell which rows came from where."""
    frames = [] if earlier is None else [earlier]
    for directory in staged_dirs:
        path = Path(directory) / "person.parquet"
        frame = read_table(path, "person")
        dup = frame["record_key"].duplicated()
        if dup.any():
            raise LinkageError(f"record key '{frame.loc[dup, 'record_key'].iloc[0]}' appears twice in one "
                               "staged file", reason="duplicate_key", file=str(path),
                               row=int(np.flatnonzero(dup.to_numpy())[0]) + 1, column="record_key",
                               fix="re-run `stairs-link adapt`: a staged file holds each record once")
        frames.append(frame.assign(**{FILE_COLUMN: str(path)}))
    if not staged_dirs:
        raise LinkageError("no staged directories given", reason="no_input",
                           fix="pass one or more directories written by `stairs-link adapt`")
    person = pd.concat(frames, ignore_index=True)
    person = supersede("person", person, stats if stats is not None else Superseded()).reset_index(drop=True)
    return person if earlier is not None else person.drop(columns=[FILE_COLUMN])


@dataclass
class Previous:
    """What incremental linkage reads from a previous dataset (``link --previous``)."""

    directory: Path
    person: pd.DataFrame  # its person records, with _staged_file
    record_map: pd.DataFrame  # record_key -> child_id
    model_path: Path | None  # DATASET/linkage/model.json when present
    pairs_path: Path | None  # DATASET/linkage/pairs.parquet when present
    pseudonymisation: dict | None  # the linkage summary's pseudonymisation entry


def read_previous(dataset: Path) -> Previous:
    """A dataset written by `stairs-link build` as the base of incremental linkage."""
    dataset = Path(dataset)
    path = dataset / "person_records.parquet"
    if (dataset / "build.json").exists():  # a dataset without person records is the error below
        verify_dataset(dataset)
    if not path.exists():
        raise LinkageError("the previous dataset holds no person records, so new records cannot be scored "
                           "against its children", reason="no_previous_records", file=str(path),
                           fix="pass a DATASET written by this version of `stairs-link build` (rebuild last "
                               "year's dataset), or link every year's extracts together without --previous")
    person = read_table(path, "person").assign(**{FILE_COLUMN: str(path)})
    map_path = dataset / "record_map.parquet"
    if not map_path.exists():
        raise LinkageError("previous dataset has no record_map.parquet", reason="missing_file", file=str(map_path),
                           fix="pass the whole DATASET directory written by `stairs-link build`")
    record_map = pd.read_parquet(map_path, columns=["record_key", "child_id"])
    summary_path = dataset / "linkage" / "summary.json"
    pseudo = None
    if summary_path.exists():
        pseudo = json.loads(summary_path.read_text(encoding="utf-8")).get("pseudonymisation")
    model_path = dataset / "linkage" / "model.json"
    pairs_path = dataset / "linkage" / "pairs.parquet"
    return Previous(dataset, person, record_map, model_path if model_path.exists() else None,
                    pairs_path if pairs_path.exists() else None, pseudo)


def _check_same_form(previous: Previous, pseudonymisation: dict | None) -> None:
    """New staged records and the previous dataset's must be in the same (plain or
    pseudonymised, same key) form, or their pairs cannot be compared."""
    encoded = "given_name_bf" in previous.person.columns and previous.person["given_name_bf"].notna().any()
    before = previous.pseudonymisation
    where = str(previous.directory / "person_records.parquet")
    if (pseudonymisation is not None) != bool(before or encoded):
        state = "pseudonymised" if pseudonymisation is not None else "plain"
        raise LinkageError(f"the new staged records are {state} but the previous dataset's are not", reason="mixed_pseudonymisation",
                           file=where, fix="stage every year the same way (adapt --pseudonymise with the same "
                                           "--key-file every year, or never)")
    if pseudonymisation is not None and before and before.get("key_id") != pseudonymisation.get("key_id"):
        raise LinkageError(f"the previous dataset was pseudonymised with another key (key id {before.get('key_id')}, "
                           f"now {pseudonymisation.get('key_id')})", reason="different_keys", file=where,
                           fix="pseudonymise every year with the same key file (compare key ids)")


def _incremental_inputs(staged_dirs: list[Path], previous: Previous, stats: Superseded
                        ) -> tuple[pd.DataFrame, np.ndarray, dict[str, Any]]:
    """The combined person table (previous records + new extracts, latest version of each
    record), the earlier child of each record that is not new (None otherwise) and counts."""
    person = read_person(staged_dirs, stats, earlier=previous.person)
    previous_file = str(previous.directory / "person_records.parquet")
    in_previous = person["record_key"].isin(previous.record_map["record_key"]).to_numpy()
    changed = person["record_key"].isin(list(stats.changed_records)).to_numpy()
    # kept as linked: records no new extract holds, and records extracted again unchanged
    old = in_previous & ~changed
    child = person["record_key"].map(previous.record_map.set_index("record_key")["child_id"])
    stray = (person[FILE_COLUMN] == previous_file).to_numpy() & child.isna().to_numpy()
    if stray.any():
        key = person.loc[stray, "record_key"].iloc[0]
        raise LinkageError(f"record '{key}' of the previous dataset is not in its record_map.parquet",
                           reason="inconsistent_previous", file=str(previous.directory / "record_map.parquet"),
                           fix="pass a DATASET directory exactly as `stairs-link build` wrote it")
    known = np.where(old, child.to_numpy(dtype=object), None)
    again = (person[FILE_COLUMN] != previous_file).to_numpy() & in_previous
    counts = {"previous_dataset": str(previous.directory), "previous_records": int(len(previous.person)),
              "previous_children": int(previous.record_map["child_id"].nunique()),
              "records_kept_as_linked": int(old.sum()),
              "records_extracted_again_unchanged": int((again & ~changed).sum()),
              "records_in_a_new_version": int((in_previous & changed).sum()),
              "new_records": int((~in_previous).sum())}
    return person.drop(columns=[FILE_COLUMN]), known, counts


def _carry_pairs(result: LinkOutput, previous: Previous, known: np.ndarray, person: pd.DataFrame) -> int:
    """Add the previous dataset's linked pairs between records kept as linked, so the
    dataset's link confidence covers every child (same columns only; else none)."""
    if previous.pairs_path is None:
        return 0
    old_pairs = pd.read_parquet(previous.pairs_path)
    if list(old_pairs.columns) != list(result.pairs.columns):
        return 0
    kept = set(person["record_key"].to_numpy()[pd.notna(known)])
    both = old_pairs["record_key_l"].isin(kept) & old_pairs["record_key_r"].isin(kept)
    carried = old_pairs[both.to_numpy()]
    if len(carried):
        result.pairs = pd.concat([result.pairs, carried], ignore_index=True).sort_values(
            "match_weight", ascending=False, ignore_index=True, kind="stable")
    return int(len(carried))


def load_model(path: str | Path) -> tuple[dict[str, Any], LinkageConfig]:
    """A model.json as a dict, with the configuration it carries."""
    try:
        model = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise LinkageError(f"cannot read model ({exc})", reason="bad_model", file=str(path),
                           fix="pass the model.json written by `stairs-link link`") from None
    return model, FSModel.from_dict(model, file=str(path))[1]


def link(staged_dirs: list[Path], out_dir: Path, *, config_path: Path | None = None,
         model_path: Path | None = None, decisions_path: Path | None = None,
         progress: bool = False, config: LinkageConfig | None = None,
         previous: Path | None = None, threshold_from_decisions: bool = False, pages: bool = True) -> LinkOutput:
    """Link staged directories and write clusters, pairs, model, review sheet and summary, and
    (``pages``) the workbench pages linkage.html and review.html (``linkage.workbench``).

    With ``model_path`` the model's own configuration is used (only ``max_pairs`` and
    ``chunk_pairs`` may be changed through ``config``, as they do not change results).
    With ``previous`` (a dataset written by `build`), the new records are scored against the
    dataset's children (incremental linkage, docs/linkage.md): by default with the dataset's
    own model (``linkage/model.json``), so every year is scored alike.
    """
    start = time.perf_counter()
    if config is None and config_path:
        config = LinkageConfig.from_yaml(config_path)
    before = read_previous(Path(previous)) if previous is not None else None
    if model_path is None and before is not None and config_path is None:
        model_path = before.model_path
    model = None
    if model_path is not None:
        model, model_config = load_model(model_path)
        model = model_with_overrides(model, config)
    decisions = read_decisions(decisions_path) if decisions_path else None
    pseudonymisation = pseudonymisation_of([Path(d) for d in staged_dirs])  # refuses mixed keys or parameters
    if config is None and model is None:
        config = config_for_staged([Path(d) for d in staged_dirs])
    chosen = model_config if model is not None else config
    assert chosen is not None
    check_config_fits(chosen, pseudonymisation is not None, str(model_path or config_path or "") or None)
    stats = Superseded()
    known, incremental = None, None
    if before is not None:
        _check_same_form(before, pseudonymisation)
        person, known, incremental = _incremental_inputs([Path(d) for d in staged_dirs], before, stats)
    else:
        person = read_person([Path(d) for d in staged_dirs], stats)
    read_seconds = time.perf_counter() - start
    result = link_table(person, config, model=model, decisions=decisions, progress=progress, known=known,
                        threshold_from_decisions=threshold_from_decisions)
    if before is not None and incremental is not None and known is not None:
        incremental["model"] = str(model_path) if model_path is not None else "trained on this run's pairs"
        incremental["pairs_carried"] = _carry_pairs(result, before, known, person)
        result.summary["incremental"] = incremental
    result.summary["extracts"] = stats.to_dict()
    result.summary["pseudonymisation"] = pseudonymisation
    out = Path(out_dir)
    with output_unit(out, "link", owned=LINK_FILES) as unit:
        write_outputs(result, out, unit=unit)
        result.summary["timings_seconds"] = {"read": round(read_seconds, 3), **result.summary["timings_seconds"],
                                             "total": round(time.perf_counter() - start, 3)}
        write_json(unit.path("summary.json"), result.summary)
        if pages:
            from stairs_link.linkage.workbench import write_pages  # only when pages are written (jinja2, page data)

            write_pages(unit.staging, verify=False, run=out.name)
    return result


#: everything `link` writes into LINKED: one unit (schema/outputs.py), recorded in complete.json
LINK_FILES = ("clusters.parquet", "pairs.parquet", "model.json", "review.csv", "summary.json",
              "linkage.html", "review.html")
#: the files of LINKED that later stages read (each must be in the completion record)
LINKED_DATA = ("clusters.parquet", "pairs.parquet", "model.json", "review.csv", "summary.json")


def write_outputs(result: LinkOutput, out_dir: Path, *, unit: OutputUnit | None = None) -> None:
    """The five files of LINKED. Within ``unit`` (what :func:`link` does) they are written to its
    staging folder and published together; without one, as one unit of their own."""
    if unit is None:
        with output_unit(Path(out_dir), "link", owned=LINK_FILES) as own:
            write_outputs(result, Path(out_dir), unit=own)
        return
    result.summary["review_pairs"] = int(len(result.review))
    result.clusters.to_parquet(unit.path("clusters.parquet"), index=False)
    result.pairs.to_parquet(unit.path("pairs.parquet"), index=False)
    write_json(unit.path("model.json"), result.model)
    # utf-8-sig: a byte-order mark, so Excel on Windows reads the file as UTF-8 (reviewers open it there)
    result.review.to_csv(unit.path("review.csv"), index=False, encoding="utf-8-sig")
    write_json(unit.path("summary.json"), result.summary)


def write_linked(out_dir: str | Path, clusters: pd.DataFrame, pairs: pd.DataFrame | None = None) -> Path:
    """A LINKED directory holding clusters decided elsewhere (ground truth, another linkage
    tool, a clerical review), for `build`: clusters.parquet (record_key, cluster_id, cluster_size
    added when absent) and optionally pairs.parquet, published as one unit with complete.json
    (schema/outputs.py) like :func:`link`'s own output. No model, review sheet or pages."""
    out = Path(out_dir)
    if "cluster_size" not in clusters.columns and "cluster_id" in clusters.columns:
        clusters = clusters.assign(cluster_size=clusters.groupby("cluster_id")["record_key"].transform("size"))
    with output_unit(out, "link", owned=LINK_FILES) as unit:
        unit.extra["written_by"] = "stairs_link.linkage.write_linked (clusters decided outside `link`)"
        clusters.to_parquet(unit.path("clusters.parquet"), index=False)
        if pairs is not None:
            pairs.to_parquet(unit.path("pairs.parquet"), index=False)
    return out
