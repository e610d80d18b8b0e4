"""Each paper's key ablation on our data: train every arm on one budget, score it on the test split, compare.

    python experiments/ablation.py --paper all --data datasets/default --steps 1000 --threads 1
    python experiments/ablation.py --paper kpnet --data datasets/default --steps 2000 --out runs/ablation

An arm is (config, preset, overrides): the paper's network or one switch off (model kwargs documented on each model
class, or a loss change). Every arm of a paper trains with `sdr2hdr train` on the same budget - steps, batch, patch,
seed, schedule - in OUT/<paper>/<arm>/; an arm whose weights are done is skipped, one with checkpoints continues with
--resume. Each arm's last weights are then scored on the test split with the benchmark (bench.run_benchmark):
at QP 37 for the compressed-video papers, on the uncoded bicubic down-scale (`sdr/xS`) for the SR-ITM papers, as
their papers tested. The table (results/ablation.md and .csv) gives, per arm, our PSNR and Delta E ITP, the
paper's figures for the same comparison, and whether the sign of our difference from the paper's network matches
the sign of the paper's.

--synthetic trains on the preset's generated pairs instead of --data (smoke runs: `--preset cpu-smoke`); the
scores still come from --data's test split.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sdr2hdr.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Arm:
    """One network of an ablation; paper_* are (the paper's network, this arm) from the table in `source`."""

    name: str
    label: str
    kwargs: dict = field(default_factory=dict)
    overrides: tuple[str, ...] = ()
    paper_psnr: tuple[float, float] | None = None
    paper_de: tuple[float, float] | None = None
    source: str = ""


@dataclass(frozen=True)
class Paper:
    key: str
    title: str
    config: str
    qp: int | None
    arms: tuple[Arm, ...]
    note: str = ""


REFERENCE = "paper"  # every paper's first arm: its network as published
FULL_DIDNET = "didnet_full"  # runs folder and table of --full-didnet
TABLES = Path(__file__).with_name("ablation.yaml")  # the papers' tables: titles, arms, published figures


def _pair(value: list | None) -> tuple[float, float] | None:
    return None if value is None else (float(value[0]), float(value[1]))


def load_papers(path: Path = TABLES) -> tuple[dict[str, Paper], str]:
    """The papers and their arms from the tables file (ablation.yaml; qp null: scored on the uncoded down-scaled
    SDR), and the DIDNet-Tiny note that --full-didnet replaces."""
    data = yaml.safe_load(path.read_text())
    tiny = data["tiny_note"]
    papers = {}
    for key, p in data["papers"].items():
        arms = tuple(Arm(a["name"], a["label"], a.get("kwargs", {}), tuple(a.get("overrides", ())),
                         _pair(a.get("paper_psnr")), _pair(a.get("paper_de")), a.get("source", ""))
                     for a in p["arms"])
        if arms[0].name != REFERENCE:
            raise InputError(f"{path}: the first arm of {key} must be '{REFERENCE}' (the paper's network)")
        note = p.get("note", "").replace("{tiny_note}", tiny)
        papers[key] = Paper(key, p["title"], p["config"], p["qp"], arms, note)
    return papers, tiny


PAPERS, TINY_NOTE = load_papers()


# ---------------------------------------------------------------------------------------------- training


def budget_overrides(steps: int, batch: int | None, patch: int | None, seed: int) -> list[str]:
    """--set values every arm of a paper shares: one budget, validation and averaging off (the test split scores)."""
    sets = [f"train.steps={steps}", f"train.seed={seed}", "train.average_last=0",
            f"train.ckpt_every={max(1, steps // 10)}", f"train.val_every={steps}",
            f"train.log_every={max(1, steps // 50)}", "data.val_sources=0"]
    if batch:
        sets.append(f"train.batch={batch}")
    if patch:
        sets.append(f"train.patch={patch}")
    return sets


def stage_overrides(config: str, preset: str, steps: int) -> list[str]:
    """A config trained in stages (Deep SR-ITM) keeps its stages' shares of the steps at the new budget."""
    from sdr2hdr.train.config import load_config

    stages = load_config(ROOT / config, preset).stages
    if not stages:
        return []
    total = sum(s.steps for s in stages)
    counts = [max(1, round(steps * s.steps / total)) for s in stages[:-1]]
    counts.append(steps - sum(counts))
    if counts[-1] < 1:
        raise InputError(f"--steps {steps} is too few for the {len(stages)} training stages of {config}")
    new = [{"name": s.name, "steps": n, "model_kwargs": s.model_kwargs, "trainable": s.trainable}
           for s, n in zip(stages, counts)]
    return [f"stages={json.dumps(new)}"]


def arm_overrides(paper: Paper, arm: Arm, preset: str, base: list[str], steps: int) -> list[str]:
    """The budget, the stage split unless the arm replaces the stages, the arm's switches and its own --set."""
    sets = list(base)
    if not any(o.startswith("stages=") for o in arm.overrides):
        sets += stage_overrides(paper.config, preset, steps)
    sets += [f"model.kwargs.{k}={json.dumps(v)}" for k, v in arm.kwargs.items()]
    return sets + list(arm.overrides)


def arm_state(run: Path, steps: int) -> str:
    """'done' (last weights at the budget), 'resume' (checkpoints to continue from) or 'new'."""
    card = run / "weights" / "last.json"
    if card.is_file() and json.loads(card.read_text()).get("steps") == steps:
        return "done"
    ckpts = run / "checkpoints"
    return "resume" if ckpts.is_dir() and any(ckpts.iterdir()) else "new"


#: --set keys that follow the step count (a longer budget continues a run) or that the trainer checks itself on resume
FOLLOW_STEPS = ("train.steps=", "train.ckpt_every=", "train.val_every=", "train.log_every=", "stages=")


def check_recipe(run: Path, paper: Paper, sets: list[str], args: argparse.Namespace) -> None:
    """An arm's folder holds one recipe: RUN/arm.json records it, and a run with other settings is refused (an arm
    trained at another batch, patch, preset or on other data must not be skipped or continued as if it fitted)."""
    recipe = {"config": paper.config, "preset": args.preset,
              "train_on": "synthetic" if args.synthetic else str(Path(args.data).resolve()),
              "sets": [s for s in sets if not s.startswith(FOLLOW_STEPS)]}
    path = run / "arm.json"
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved != recipe:
            diff = [k for k in recipe if saved.get(k) != recipe[k]]
            raise InputError(f"{run} was trained with other settings ({', '.join(diff)}: {saved.get(diff[0])} "
                             f"then, {recipe[diff[0]]} now); pass another --out or remove that folder")
        return
    run.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(recipe, indent=1) + "\n")


def train_arm(paper: Paper, arm: Arm, run: Path, sets: list[str], args: argparse.Namespace) -> None:
    """`sdr2hdr train` for one arm (its own progress bar on stderr); a failure stops the harness with its message."""
    cmd = [sys.executable, "-m", "sdr2hdr.cli", "train", str(ROOT / paper.config), "--preset", args.preset,
           "--out", str(run), "--threads", str(args.threads)]
    if not args.synthetic:
        cmd += ["--data", str(args.data)]
    if arm_state(run, args.steps) == "resume":
        cmd.append("--resume")
    for s in sets:
        cmd += ["--set", s]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    proc = subprocess.run(cmd, env=env)
    if proc.returncode != 0:
        raise InputError(f"training {paper.key}/{arm.name} failed (exit {proc.returncode}); its command: "
                         + " ".join(cmd))


# ----------------------------------------------------------------------------------------------- scoring


def score_arm(paper: Paper, arm: Arm, run: Path, args: argparse.Namespace) -> dict:
    """Mean PSNR and Delta E ITP of the arm's last weights on the test split (cached in RUN/score.json)."""
    from sdr2hdr.bench.methods import model_method
    from sdr2hdr.bench.report import Summary
    from sdr2hdr.bench.run import run_benchmark
    from sdr2hdr.data.split import load_split
    from sdr2hdr.train.config import load_config

    weights = run / "weights" / "last.safetensors"
    key = {"weights_mtime": weights.stat().st_mtime, "qp": paper.qp, "max_frames": args.max_frames,
           "data": str(Path(args.data).resolve())}
    cache = run / "score.json"
    if cache.is_file():
        saved = json.loads(cache.read_text())
        if saved.get("key") == key:
            return saved
    model_name = load_config(ROOT / paper.config, args.preset).model.name
    method = model_method(model_name, weights, tile=None, model_kwargs=arm.kwargs)
    method = dataclasses.replace(method, name=f"{paper.key}:{arm.name}", label=arm.label)
    # paper.qp None: the uncoded bicubic down-scale at the model's scale (TestClip.lq), as the SR-ITM papers tested
    result = run_benchmark(load_split(args.data, "test"), [method], [paper.qp], ["psnr", "delta_e_itp"],
                           max_frames=args.max_frames, report_frames=0, progress=not args.quiet, split="test",
                           data_dir=str(args.data))
    s = Summary(result)
    out = {"key": key, "psnr": s.get(method.name, "psnr"), "delta_e_itp": s.get(method.name, "delta_e_itp"),
           "frames": s.frames(method.name), "params": method.params,
           "steps": json.loads((run / "weights" / "last.json").read_text()).get("steps")}
    cache.write_text(json.dumps(out, indent=1) + "\n")
    return out


# ------------------------------------------------------------------------------------------------- table


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


TIE = 0.02  # dB (or Delta E ITP units): differences below this are read as no difference


def direction(ours: tuple[float, float], paper: tuple[float, float] | None) -> str:
    """'yes' / 'no': does our arm move the metric the way the paper's did, (network, arm) pairs of one metric?
    'tie' when ours moved less than TIE; 'n/a' when the paper has no such figure or reports no difference, or ours
    is not a number."""
    if paper is None or any(isinstance(v, float) and math.isnan(v) for v in ours):
        return "n/a"
    theirs = _sign(paper[1] - paper[0])
    if theirs == 0:
        return "n/a"
    if abs(ours[1] - ours[0]) < TIE:
        return "tie"  # closer than short runs repeat: no direction to compare
    return "yes" if _sign(ours[1] - ours[0]) == theirs else "no"


def table_rows(paper: Paper, scores: dict[str, dict]) -> list[dict]:
    """One row per arm: ours, the paper's, differences from the paper's network, direction agreement."""
    ref = scores[REFERENCE]
    rows = []
    for arm in paper.arms:
        sc = scores[arm.name]
        is_ref = arm.name == REFERENCE
        d_psnr, d_de = sc["psnr"] - ref["psnr"], sc["delta_e_itp"] - ref["delta_e_itp"]
        rows.append({
            "paper": paper.key, "arm": arm.name, "what": arm.label, "params": sc["params"], "steps": sc["steps"],
            "frames_scored": sc["frames"], "psnr": sc["psnr"], "delta_e_itp": sc["delta_e_itp"],
            "d_psnr": None if is_ref else d_psnr, "d_delta_e_itp": None if is_ref else d_de,
            "paper_psnr_ref": arm.paper_psnr[0] if arm.paper_psnr else None,
            "paper_psnr": arm.paper_psnr[1] if arm.paper_psnr else None,
            "paper_de_ref": arm.paper_de[0] if arm.paper_de else None,
            "paper_de": arm.paper_de[1] if arm.paper_de else None,
            "agrees_psnr": "reference" if is_ref else direction((ref["psnr"], sc["psnr"]), arm.paper_psnr),
            "agrees_de": "reference" if is_ref else direction((ref["delta_e_itp"], sc["delta_e_itp"]), arm.paper_de),
            "paper_source": arm.source,
        })
    return rows


def _num(v, digits: int = 2, signed: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"


def _paper_cell(ref: float | None, arm: float | None, digits: int) -> str:
    return "-" if arm is None else f"{arm:.{digits}f} (vs {ref:.{digits}f})"


def _budget(setup: dict) -> str:
    return (f"Every arm: {setup['steps']} steps, preset `{setup['preset']}` (its batch, patch and schedule"
            f"{'; overridden: ' + setup['budget'] if setup['budget'] else ''}), seed {setup['seed']}, trained on "
            f"{setup['train_on']}; scored on the test split of `{setup['data']}`, last weights, {setup['frames']}. "
            f"Run: `python experiments/ablation.py {setup['argv']}`.")


def markdown(tables: list[dict]) -> str:
    """results/ablation.md: one table per paper with its budget and notes."""
    lines = ["# Each paper's key ablation on our data", "",
             "Direction agrees: the sign of (arm - paper's network) in our PSNR (Delta E ITP: lower is better) "
             "matches the sign of the paper's difference for the same comparison; 'tie': ours moved less than "
             f"{TIE}. Each arm is one seed of a short run: its run-to-run spread is not measured, and a small "
             "difference may reverse with another seed or more steps.", ""]
    for table in tables:
        paper = table["paper"]
        lines += [f"## {paper['title']} ({paper['config']}, test input {paper['test']})", "",
                  _budget(table["setup"]), "", paper["note"], "",
                  "| arm | what | params | PSNR | ΔE ITP | ΔPSNR | ΔΔE | paper PSNR (vs paper's network) | "
                  "paper ΔE ITP | direction agrees (PSNR) | (ΔE ITP) | paper's figures from |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|"]
        for r in table["rows"]:
            lines.append(
                f"| {r['arm']} | {r['what']} | {r['params']:,} | {_num(r['psnr'])} | {_num(r['delta_e_itp'])} | "
                f"{_num(r['d_psnr'], signed=True)} | {_num(r['d_delta_e_itp'], signed=True)} | "
                f"{_paper_cell(r['paper_psnr_ref'], r['paper_psnr'], 2)} | "
                f"{_paper_cell(r['paper_de_ref'], r['paper_de'], 2)} | {r['agrees_psnr']} | {r['agrees_de']} | "
                f"{r['paper_source'] or '-'} |")
        lines.append("")
    return "\n".join(lines)


def write_table(tables: list[dict], path: Path) -> list[Path]:
    """The markdown table at path and every row as CSV beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(tables) + "\n")
    csv_path = path.with_suffix(".csv")
    rows = [r for t in tables for r in t["rows"]]
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return [path, csv_path]


# -------------------------------------------------------------------------------------------------- main


def _say(msg: str) -> None:
    print(f"[ablation {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run_paper(paper: Paper, args: argparse.Namespace) -> list[dict]:
    """Train (or continue) every arm of one paper on the shared budget, score each, return its table rows."""
    base = budget_overrides(args.steps, args.batch, args.patch, args.seed)
    scores = {}
    for i, arm in enumerate(paper.arms, 1):
        run = args.out / paper.key / arm.name
        sets = arm_overrides(paper, arm, args.preset, base, args.steps)
        check_recipe(run, paper, sets, args)
        state = arm_state(run, args.steps)
        where = f"{paper.key} arm {i}/{len(paper.arms)} {arm.name!r}"
        if state == "done":
            _say(f"{where}: trained already ({args.steps} steps)")
        else:
            _say(f"{where}: training {args.steps} steps{' (resuming)' if state == 'resume' else ''}: {arm.label}")
            t0 = time.perf_counter()
            train_arm(paper, arm, run, sets, args)
            secs = time.perf_counter() - t0
            _say(f"{where}: trained in {secs:.0f} s ({secs / args.steps:.2f} s/step with start-up)")
        _say(f"{where}: scoring on the test split")
        scores[arm.name] = score_arm(paper, arm, run, args)
        _say(f"{where}: PSNR {scores[arm.name]['psnr']:.3f} dB, Delta E ITP {scores[arm.name]['delta_e_itp']:.3f}")
    rows = table_rows(paper, scores)
    setup = {"steps": args.steps, "preset": args.preset, "seed": args.seed,
             "budget": ", ".join(f"{k} {v}" for k, v in (("batch", args.batch), ("patch", args.patch)) if v),
             "train_on": "the preset's generated pairs" if args.synthetic else f"`{args.data}`",
             "data": str(args.data),
             "frames": f"{args.max_frames or 'all'} frame{'' if args.max_frames == 1 else 's'} per test clip",
             "argv": " ".join(sys.argv[1:])}
    about = {"key": paper.key, "title": paper.title, "config": paper.config, "note": paper.note,
             "test": "QP 37" if paper.qp is not None else "uncoded bicubic down-scale"}
    table = {"paper": about, "setup": setup, "rows": rows}
    (args.out / paper.key / "rows.json").write_text(json.dumps(table, indent=1) + "\n")
    return rows


def collect(out: Path) -> list[dict]:
    """Every paper with finished rows under OUT, in PAPERS order (a later run of one paper keeps the others)."""
    order = [*PAPERS, FULL_DIDNET]
    found = [p for p in out.glob("*/rows.json") if p.parent.name in order]
    return [json.loads(p.read_text()) for p in sorted(found, key=lambda p: order.index(p.parent.name))]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paper", default="all", choices=[*PAPERS, "all"])
    ap.add_argument("--data", type=Path, required=True, help="a set built by `sdr2hdr data build` (test scores; "
                                                             "training too unless --synthetic)")
    ap.add_argument("--steps", type=int, default=1000, help="training steps of every arm (default 1000)")
    ap.add_argument("--batch", type=int, default=None, help="batch of every arm (default: the preset's)")
    ap.add_argument("--patch", type=int, default=None, help="HDR patch of every arm (default: the preset's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default="cpu-small", help="the configs' preset (default cpu-small)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per training and scoring (default 1)")
    ap.add_argument("--max-frames", type=int, default=3, help="test frames scored per clip (default 3; 0: all)")
    ap.add_argument("--synthetic", action="store_true", help="train on the preset's generated pairs (smoke runs)")
    ap.add_argument("--full-didnet", action="store_true", help="DIDNet's arms on the full network, not DIDNet-Tiny")
    ap.add_argument("--out", type=Path, default=Path("runs/ablation"), help="runs folder (default runs/ablation)")
    ap.add_argument("--results", type=Path, default=Path("results/ablation.md"),
                    help="the table (default results/ablation.md; .csv beside it)")
    ap.add_argument("--quiet", action="store_true", help="no scoring progress bar")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.threads < 1 or args.max_frames < 0:
        ap.error("--steps and --threads must be positive, --max-frames not negative")
    args.max_frames = args.max_frames or None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    try:
        from sdr2hdr.data.split import find_manifest

        find_manifest(args.data)  # before any training: the scores need its test split
        for key in (PAPERS if args.paper == "all" else [args.paper]):
            paper = PAPERS[key]
            if key == "didnet" and args.full_didnet:
                paper = dataclasses.replace(paper, key=FULL_DIDNET, title="DIDNet (Xu et al.), full network",
                                            config="configs/didnet.yaml",
                                            note=paper.note.replace(TINY_NOTE, "The full DIDNet, as the paper."))
            run_paper(paper, args)
        written = write_table(collect(args.out), args.results)
    except InputError as exc:
        print(f"ablation: error: {exc}", file=sys.stderr)
        return 2
    _say("table: " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
