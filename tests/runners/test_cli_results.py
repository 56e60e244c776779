"""What commands print: warnings on stderr even with -q, and --json on every result command."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from anonymizer_ml.crypto.keyset import generate_keyset, write_keyset
from anonymizer_ml.detect.entities import NO_NER_WARNING
from anonymizer_ml.policy.load import load_policy
from anonymizer_ml.report.terminal import run_warnings
from anonymizer_ml.runners import local
from tests.conftest import CUSTOMERS_POLICY, FIXTURE, run_cli, run_policy


def test_an_unsigned_manifest_is_warned_about_even_with_quiet(tmp_path: Path) -> None:
    keyset = tmp_path / "unsigned.json"
    write_keyset(generate_keyset(["tokenize", "surrogate", "date_shift"]), keyset)
    result = run_policy(keyset, FIXTURE, tmp_path / "out", "-q")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "anonymizer-manifest.json: not signed" in result.stderr
    assert "anonymizer keys add KEYSET --purpose sign" in result.stderr


def test_a_signed_run_has_no_warning(tmp_path: Path, keyset_file: Path) -> None:
    result = run_policy(keyset_file, FIXTURE, tmp_path / "out", "-q")
    assert result.returncode == 0 and result.stderr == "" and result.stdout == ""


def test_missing_ner_is_a_warning_only_where_ner_was_asked_for(
    tmp_path: Path, keyset_file: Path
) -> None:
    from anonymizer_ml import load_keyset

    policy = tmp_path / "notes.yaml"
    policy.write_text("name: notes\ncolumns:\n  support_notes: {action: detect, ner: auto}\n")
    result = local.run(
        load_policy(policy), str(policy), str(FIXTURE), tmp_path / "out", load_keyset(keyset_file)
    )
    assert [s["action"] for s in result.manifest.plan].count("detect") == 1

    def with_ner(choice: str, loaded: str) -> list[str]:
        plan = [
            {**s, "params": {**s["params"], "ner": choice, "detectors": {"ner": loaded}}}
            if s["action"] == "detect"
            else s
            for s in result.manifest.plan
        ]
        manifest = result.manifest.model_copy(update={"plan": plan})
        return run_warnings(dataclasses.replace(result, manifest=manifest))

    assert any(NO_NER_WARNING in w for w in with_ner("auto", "none"))
    assert not any(NO_NER_WARNING in w for w in with_ner("none", "none"))  # chosen, not missing
    assert not any(NO_NER_WARNING in w for w in with_ner("auto", "en_core_web_sm"))


def test_run_verify_plan_and_validate_speak_json(tmp_path: Path, keyset_file: Path) -> None:
    out = tmp_path / "out"
    ran = run_policy(keyset_file, FIXTURE, out, "--json")
    assert ran.returncode == 0, ran.stderr
    run_doc = json.loads(ran.stdout)
    assert run_doc["signed"] is True and run_doc["rows"] == 5000 and run_doc["warnings"] == []
    assert run_doc["outputs"] == [{"path": str(out / FIXTURE.name), "rows": 5000}]

    trust = tmp_path / "trust.yaml"
    trust.write_text(run_cli(["keys", "export-public", "-k", str(keyset_file)]).stdout)
    verified = run_cli(["verify", str(out), "--trust", str(trust), "--json"])
    assert verified.returncode == 0, verified.stderr
    doc = json.loads(verified.stdout)
    assert doc["verified"] is True and doc["files"][0]["rows"] == 5000
    assert doc["policy"]["name"] == "customers" and doc["erasures"] == []

    planned = run_cli(
        ["plan", str(CUSTOMERS_POLICY), str(FIXTURE), "-k", str(keyset_file), "--json"]
    )
    assert planned.returncode == 0, planned.stderr
    steps = json.loads(planned.stdout)["steps"]
    assert {s["column"] for s in steps} >= {"customer_id", "email"}

    valid = run_cli(["validate", str(CUSTOMERS_POLICY), "--json"])
    assert valid.returncode == 0 and json.loads(valid.stdout)["valid"] is True
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: b\ncolumns:\n  a: {action: hashh}\n")
    invalid = run_cli(["validate", str(broken), "--json"])
    assert invalid.returncode == 1
    problems = json.loads(invalid.stdout)["problems"]
    assert len(problems) == 1 and "unknown action 'hashh'" in problems[0]


def test_keys_commands_speak_json_without_secrets(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    made = run_cli(["keys", "init", str(path), "--purpose", "encrypt", "--json"])
    assert made.returncode == 0, made.stderr
    doc = json.loads(made.stdout)
    assert [k["purpose"] for k in doc["keys"]] == ["encrypt"] and doc["protection"] is None
    rotated = json.loads(
        run_cli(["keys", "rotate", str(path), "--purpose", "encrypt", "--json"]).stdout
    )
    assert len(rotated["keys"]) == 2 and rotated["primary"]["encrypt"] == rotated["keys"][1]["id"]
    added = json.loads(run_cli(["keys", "add", str(path), "--purpose", "sign", "--json"]).stdout)
    assert set(added["primary"]) == {"encrypt", "sign"}
    materials = [k["material"] for k in json.loads(path.read_text())["keys"]]
    for output in (made.stdout, json.dumps(rotated), json.dumps(added)):
        assert not any(m in output for m in materials)
