"""Untrusted input at the CLI's edge: images over 40 megapixels are refused from their header,
every file and stdin reader has a size limit, JSON a depth limit, e-card text the length of a QR
code, and no input ends in a Python traceback (docs/security.md "Files, keys and untrusted
input"). Commands run in this process through `main` (tests/support/cli.py)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import terminal.cli.settle
from terminal.cli import EXIT_INTERNAL
from terminal.cli._common import MAX_INPUT_BYTES, MAX_JSON_DEPTH
from terminal.identity.ecard import MAX_TEXT, b45decode
from terminal.identity.issuer import generate_issuer_key, mint_ecard, trust_entry
from tests.support.cli import in_process
from tests.support.profiles import examples
from tests.unit.settlement.helpers import CATALOGUE, claim_doc, policy_text

NOW = 1_780_000_000
CLAIMS = {
    "card_no": "HA1046913",
    "psn_cert": "330102197001011235",
    "name": "张伟",
    "insuplc_admdvs": "330100",
    "insutype": "310",
}


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20000×20000 single-colour PNG: 400 megapixels in some 76 KB on disk (1 bit a pixel)."""
    path = tmp_path_factory.mktemp("images") / "huge.png"
    Image.new("1", (20000, 20000), 1).save(path, optimize=True)
    assert path.stat().st_size < 1 << 20
    return path


def one_line(stderr: str) -> str:
    """The single line a refused command printed; never a traceback."""
    assert "Traceback" not in stderr
    assert stderr.count("\n") == 1, stderr
    return stderr


def test_qr_decode_refuses_a_400_megapixel_png_from_its_header(
    config_path: Path, huge_png: Path
) -> None:
    done = in_process(config_path, "qr", "decode", str(huge_png))
    assert done.returncode == 1
    assert done.stdout == ""
    line = one_line(done.stderr)
    assert "over the 40 megapixel limit" in line and "not decoded" in line
    assert "(400000000 pixels)" in line  # Pillow's own bomb check, from the header


def test_ecard_verify_refuses_a_400_megapixel_png_from_its_header(
    config_path: Path, huge_png: Path, trust_list: Path
) -> None:
    done = in_process(
        config_path, "ecard", "verify", "--trust-list", str(trust_list), "--image", str(huge_png)
    )
    assert done.returncode == 2
    answer = json.loads(done.stdout)
    assert answer["error"] == "input"
    assert "over the 40 megapixel limit" in answer["message"]
    assert "not decoded" in answer["message"]


def test_a_folder_source_refuses_the_same_image_before_decoding_it(huge_png: Path) -> None:
    from drivers.qr.decode import QrError
    from drivers.qr.sources import FolderSource

    source = FolderSource(huge_png.parent)
    with pytest.raises(QrError, match="over the 40 megapixel limit .*: not decoded"):
        source.read()


def test_an_image_between_our_limit_and_pillows_is_refused_by_ours(tmp_path: Path) -> None:
    from drivers.qr.decode import QrError, read_image

    path = tmp_path / "64mp.png"
    Image.new("1", (8000, 8000), 1).save(path)  # 64 MP: under Pillow's 89.5 MP warning
    with pytest.raises(QrError, match="8000×8000 pixels is over the 40 megapixel limit: not"):
        read_image(path)


def test_an_image_file_over_128_mib_is_refused_unread(config_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    with path.open("wb") as f:  # sparse
        f.truncate(200 << 20)
    done = in_process(config_path, "qr", "decode", str(path))
    assert done.returncode == 1
    assert "larger than 128 MiB: not an image to scan" in one_line(done.stderr)


# -- JSON files and stdin -----------------------------------------------------------------------


@pytest.fixture
def settle_files(tmp_path: Path) -> dict[str, Path]:
    files = {"policy": tmp_path / "p.toml", "catalogue": tmp_path / "k.json"}
    files["policy"].write_text(policy_text({"segments": [{"from": "0", "ratio": "0.9"}]}))
    files["catalogue"].write_text(json.dumps(CATALOGUE, ensure_ascii=False))
    return files


def settle(config: Path, files: dict[str, Path], claim: Path) -> Any:
    return in_process(
        config,
        "settle",
        "--policy",
        str(files["policy"]),
        "--catalogue",
        str(files["catalogue"]),
        "--claim",
        str(claim),
    )


def test_a_claim_nested_deeper_than_the_limit_is_refused(
    config_path: Path, settle_files: dict[str, Path], tmp_path: Path
) -> None:
    claim = tmp_path / "deep.json"
    doc: Any = claim_doc([("A1", "1", "10.00")])
    doc["person"]["extra"] = json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    claim.write_text(json.dumps(doc))
    done = settle(config_path, settle_files, claim)
    assert done.returncode == 2
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in one_line(done.stderr)


def test_a_claim_nested_past_pythons_own_recursion_limit_is_refused_the_same(
    config_path: Path, settle_files: dict[str, Path], tmp_path: Path
) -> None:
    claim = tmp_path / "deeper.json"
    claim.write_text("[" * 100_000 + "]" * 100_000)
    done = settle(config_path, settle_files, claim)
    assert done.returncode == 2
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in one_line(done.stderr)


def test_a_100_mb_claim_file_is_refused_without_being_read_whole(
    config_path: Path, settle_files: dict[str, Path], tmp_path: Path
) -> None:
    claim = tmp_path / "big.json"
    with claim.open("wb") as f:  # sparse: 100 MB that take no disk
        f.truncate(100 * 1000 * 1000)
    done = settle(config_path, settle_files, claim)
    assert done.returncode == 2
    assert f"larger than {MAX_INPUT_BYTES} bytes" in one_line(done.stderr)


@pytest.mark.parametrize(
    ("qty", "price", "field"),
    [("1", "9" * 40, "price"), ("9" * 40, "10.00", "qty"), ("1", "9" * 5000, "price")],
)
def test_a_40_digit_quantity_or_price_is_an_input_error_not_a_crash(
    config_path: Path,
    settle_files: dict[str, Path],
    tmp_path: Path,
    qty: str,
    price: str,
    field: str,
) -> None:
    claim = tmp_path / "c.json"
    claim.write_text(json.dumps(claim_doc([("A1", qty, price)])))
    done = settle(config_path, settle_files, claim)
    assert done.returncode == 2
    assert f"basket[0].{field}: has more than 9 digits before the point" in one_line(done.stderr)


def test_an_integer_past_64_bits_is_refused_by_the_json_reader(
    config_path: Path, settle_files: dict[str, Path], tmp_path: Path
) -> None:
    claim = tmp_path / "c.json"
    claim.write_text('{"person": ' + "9" * 5000 + "}")
    done = settle(config_path, settle_files, claim)
    assert done.returncode == 2
    assert "outside the signed 64-bit range" in one_line(done.stderr)


# -- e-card text ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def issuer_key() -> Any:
    return generate_issuer_key("EdDSA")


@pytest.fixture
def trust_list(tmp_path: Path, issuer_key: Any) -> Path:
    path = tmp_path / "tl.json"
    entry = trust_entry(issuer_key, "CN-330100", NOW - 86400, NOW + 86400)
    path.write_text(json.dumps({"version": 1, "issued_at": NOW, "keys": [entry]}))
    return path


def verify(config: Path, trust_list: Path, text: str, *, stdin: bool = False) -> Any:
    args = ["ecard", "verify", "--trust-list", str(trust_list), "--now", str(NOW)]
    if stdin:
        return in_process(config, *args, "-", stdin=text)
    return in_process(config, *args, text)


def test_a_valid_code_still_verifies(config_path: Path, trust_list: Path, issuer_key: Any) -> None:
    text = mint_ecard(issuer_key, CLAIMS, iat=NOW)
    done = verify(config_path, trust_list, text, stdin=True)
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["card_no"] == "HA1046913"


@pytest.mark.parametrize("stdin", [True, False])
def test_a_10_mb_ecard_text_is_refused_by_its_length(
    config_path: Path, trust_list: Path, stdin: bool
) -> None:
    text = "ESC1:" + "0" * 9_999_999  # 3n characters of the alphabet: Base45 would decode them
    done = verify(config_path, trust_list, text, stdin=stdin)
    assert done.returncode == 1
    answer = json.loads(done.stdout)
    assert answer["error"] == "base45"
    assert "more than a QR code holds" in answer["message"]
    assert done.stderr == ""


def test_an_ecard_text_of_exactly_the_qr_limit_is_read_as_base45(
    config_path: Path, trust_list: Path
) -> None:
    text = "ESC1:" + "0" * (MAX_TEXT - len("ESC1:"))  # 4291 characters: 3n+1, not Base45
    answer = json.loads(verify(config_path, trust_list, text).stdout)
    assert answer["error"] == "base45" and "3n+1" in answer["message"]


def _b45(data: bytes) -> str:
    import base45

    return str(base45.b45encode(data).decode("ascii"))


@pytest.mark.parametrize("cut", [1, 10, 40, 80])
def test_truncated_cbor_is_the_cose_error_not_a_crash(
    config_path: Path, trust_list: Path, issuer_key: Any, cut: int
) -> None:
    cose = zlib.decompress(b45decode(mint_ecard(issuer_key, CLAIMS, iat=NOW)[5:]))
    for text in ("ESC1:" + _b45(cose[:-cut]), "ESC1:" + _b45(zlib.compress(cose[:-cut]))):
        done = verify(config_path, trust_list, text)
        assert done.returncode == 1
        assert json.loads(done.stdout)["error"] == "cose"
        assert done.stderr == ""


def test_cbor_nested_deeper_than_a_cose_message_is_the_cose_error(
    config_path: Path, trust_list: Path
) -> None:
    text = "ESC1:" + _b45(b"\x81" * 1000 + b"\x00")
    answer = json.loads(verify(config_path, trust_list, text).stdout)
    assert answer["error"] == "cose" and "depth" in answer["message"]


# -- the traceback guard ----------------------------------------------------------------------


def _boom(*_: Any) -> int:
    raise RuntimeError("something medpos did not expect\nover two lines")


def test_an_unexpected_exception_is_one_line_with_the_debug_hint_and_exit_70(
    config_path: Path, settle_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(terminal.cli.settle, "_settle", _boom)
    done = settle(config_path, settle_files, settle_files["catalogue"])
    assert done.returncode == EXIT_INTERNAL == 70
    line = one_line(done.stderr)
    assert "internal error (RuntimeError: something medpos did not expect over two lines)" in line
    assert "MEDPOS_DEBUG=1" in line


def test_with_medpos_debug_the_traceback_is_shown(
    config_path: Path, settle_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(terminal.cli.settle, "_settle", _boom)
    with pytest.raises(RuntimeError, match="did not expect"):
        in_process(
            config_path,
            "settle",
            "--policy",
            "p",
            "--catalogue",
            "k",
            "--claim",
            "c",
            env={"MEDPOS_DEBUG": "1"},
        )


# -- fuzzing the readers in-process ---------------------------------------------------------------

JSON_ATOMS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
JSONISH = st.recursive(
    JSON_ATOMS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=30,
)
NO_FUNCTION_SCOPED_FIXTURE = [HealthCheck.function_scoped_fixture]


@settings(max_examples=examples(300), suppress_health_check=NO_FUNCTION_SCOPED_FIXTURE)
@given(
    st.one_of(
        st.binary(max_size=300),
        JSONISH.map(lambda v: json.dumps(v).encode()),
        st.builds(
            lambda doc, path, value: _mutated(doc, path, value).encode(),
            st.just(claim_doc([("A1", "2", "10.00"), ("B1", "1", "5.50")])),
            st.integers(0, 40),
            JSONISH,
        ),
    )
)
def test_no_claim_file_ends_in_a_traceback(
    config_path: Path, settle_files: dict[str, Path], tmp_path: Path, content: bytes
) -> None:
    claim = tmp_path / "fuzz.json"
    claim.write_bytes(content)
    done = settle(config_path, settle_files, claim)
    assert done.returncode in (0, 2, 3), done.stderr
    assert "Traceback" not in done.stderr


def _mutated(doc: dict[str, Any], where: int, value: Any) -> str:
    """`doc` with its `where`-th value (in a walk of the document) replaced by `value`."""
    spots: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        keys = node.keys() if isinstance(node, dict) else range(len(node))
        for k in keys:
            spots.append((node, k))
            if isinstance(node[k], dict | list):
                walk(node[k])

    copy = json.loads(json.dumps(doc))
    walk(copy)
    node, key = spots[where % len(spots)]
    node[key] = value
    return json.dumps(copy, ensure_ascii=False)


@settings(max_examples=examples(300), suppress_health_check=NO_FUNCTION_SCOPED_FIXTURE)
@given(
    st.one_of(
        st.text(max_size=200).map(lambda t: "ESC1:" + t),
        st.binary(max_size=200).map(lambda b: "ESC1:" + _b45(b)),
        st.binary(max_size=200).map(lambda b: "ESC1:" + _b45(zlib.compress(b))),
        st.text(max_size=50),
    )
)
def test_no_ecard_text_ends_in_a_traceback(config_path: Path, trust_list: Path, text: str) -> None:
    done = verify(config_path, trust_list, text, stdin=True)
    assert done.returncode in (1, 2), done.stdout
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["error"]


@settings(max_examples=examples(200), suppress_health_check=NO_FUNCTION_SCOPED_FIXTURE)
@given(st.binary(max_size=400))
def test_no_image_file_ends_in_a_traceback(config_path: Path, tmp_path: Path, data: bytes) -> None:
    image = tmp_path / "fuzz.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + data if data[:1] == b"\x00" else data)
    done = in_process(config_path, "qr", "decode", str(image))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


def test_trust_list_and_hotlist_files_are_held_to_the_same_limits(
    config_path: Path, trust_list: Path, tmp_path: Path
) -> None:
    deep = tmp_path / "hotlist.json"
    deep.write_text('{"entries": ' + "[" * 40 + "]" * 40 + "}")
    done = in_process(
        config_path,
        "ecard",
        "verify",
        "--trust-list",
        str(trust_list),
        "--hotlist",
        str(deep),
        "ESC1:x",
    )
    assert done.returncode == 2
    assert json.loads(done.stdout)["error"] == "input"
    assert "nested deeper than 32 levels" in json.loads(done.stdout)["message"]


def test_refdata_import_refuses_deep_huge_and_odd_files_each_on_its_own_line(
    make_config: Any, tmp_path: Path
) -> None:
    from tests.e2e.test_cli_refdata import ROOT_B64

    config = make_config(platform={"root_public_key": ROOT_B64})
    files = {
        "deep.json": '{"kind": "hotlist", "body": ' + "[" * 50 + "]" * 50 + "}",
        "deeper.json": "[" * 100_000 + "]" * 100_000,
        "digits.json": '{"version": ' + "7" * 40 + "}",
        "nan.json": '{"version": NaN}',
        "binary.json": "\udcff",
    }
    paths = []
    for name, text in files.items():
        (tmp_path / name).write_bytes(text.encode("utf-8", "surrogateescape"))
        paths.append(str(tmp_path / name))
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(100 * 1000 * 1000)
    done = in_process(config, "refdata", "import", *paths, str(big))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["error"] for a in answers] == ["refused"] * 6
    messages = [a["message"] for a in answers]
    assert "nested deeper than 32 levels" in messages[0]
    assert "nested deeper than 32 levels" in messages[1]
    assert "outside the signed 64-bit range" in messages[2]
    assert "NaN is not a JSON number" in messages[3]
    assert "not UTF-8 text" in messages[4]
    assert f"larger than {MAX_INPUT_BYTES} bytes" in messages[5]


@pytest.mark.parametrize("option", ["--claim", "--basket"])
def test_checkout_refuses_a_deep_claim_or_basket_before_opening_the_terminal(
    config_path: Path, tmp_path: Path, option: str
) -> None:
    path = tmp_path / "in.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    extra = ["--card"] if option == "--basket" else []
    done = in_process(config_path, "checkout", option, str(path), *extra)
    assert done.returncode == 2
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in one_line(done.stderr)
