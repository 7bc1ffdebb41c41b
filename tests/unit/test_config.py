"""config.toml is validated: unknown keys, wrong types and bad values stop start-up, by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from terminal.config import DEFAULT_CONFIG_PATH, load_config
from terminal.errors import ConfigError


def test_the_embedded_default_loads_with_amounts_in_fen() -> None:
    config = load_config(DEFAULT_CONFIG_PATH, env={})
    assert config.risk.offline_max_fund_per_sale == 200000
    assert config.risk.max_unsynced_fund == 5000000
    assert config.risk.offline_max_sales_per_person_day == 3
    assert config.risk.max_sync_age_h == 72
    assert config.terminal.timezone == "Asia/Shanghai"
    assert config.data_dir == DEFAULT_CONFIG_PATH.parent / "var"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[risk]\nofline_max_fund_per_sale = '1.00'\n",
            r"\[risk\] ofline_max_fund_per_sale: unknown key",
        ),
        ("[rsk]\n", r"\[rsk\]: unknown section"),
        ("[risk]\nmax_sync_age_h = '72'\n", r"\[risk\] max_sync_age_h: expected an integer"),
        ("[risk]\nmax_unsynced_fund = 50000\n", r"\[risk\] max_unsynced_fund: expected an amount"),
        ("[risk]\nmax_unsynced_fund = '5.001'\n", r"'5.001' is not an amount"),
        ("[risk]\nmax_sync_age_h = -1\n", r"max_sync_age_h: -1 must be at least 0"),
        ("[qr]\nsource = 'webcam'\n", r"\[qr\] source: 'webcam' is not one of virtual, camera"),
        ("[terminal]\ndemo = 'yes'\n", r"\[terminal\] demo: expected true or false"),
        ("[terminal]\ntimezone = 'Mars/Base'\n", r"timezone: 'Mars/Base' is not an IANA time zone"),
        ("[platform]\nbatch_size = 501\n", r"batch_size: 501 must be at most 500"),
        ("[risk\n", r"not valid TOML"),
        ("risk = 3\n", r"risk: expected a \[risk\] table"),
    ],
)
def test_a_bad_file_is_refused_naming_file_key_and_expectation(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as err:
        load_config(path, env={})
    assert str(path) in str(err.value)


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml", env={})


def test_medpos_config_chooses_the_file_and_env_overrides_single_values(tmp_path: Path) -> None:
    path = _write(tmp_path, "[risk]\nmax_sync_age_h = 10\n")
    env = {
        "MEDPOS_CONFIG": str(path),
        "MEDPOS_RISK__MAX_SYNC_AGE_H": "48",
        "MEDPOS_RISK__MAX_UNSYNCED_FUND": "100.50",
        "MEDPOS_TERMINAL__DEMO": "true",
        "MEDPOS_PLATFORM__TIMEOUT_S": "2.5",
    }
    config = load_config(None, env=env)
    assert config.source == path.resolve()
    assert config.risk.max_sync_age_h == 48
    assert config.risk.max_unsynced_fund == 10050
    assert config.terminal.demo is True
    assert config.platform.timeout_s == 2.5


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "MEDPOS_RISK__MAX_SYNC_AGE_H",
            "soon",
            r"environment: \[risk\] max_sync_age_h: 'soon' is not an integer",
        ),
        ("MEDPOS_RISK__NOPE", "1", r"MEDPOS_RISK__NOPE: unknown key"),
        ("MEDPOS_TERMINAL__DEMO", "maybe", r"'maybe' is not true or false"),
        ("MEDPOS_WEB__LANGUAGE", "fr", r"'fr' is not one of zh, en"),
    ],
)
def test_a_bad_environment_override_is_refused_by_name(
    name: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_config(DEFAULT_CONFIG_PATH, env={name: value})


def test_replace_validates_like_the_file() -> None:
    config = load_config(DEFAULT_CONFIG_PATH, env={})
    assert config.replace("risk", max_sync_age_h=1).risk.max_sync_age_h == 1
    with pytest.raises(ConfigError, match="unknown key"):
        config.replace("risk", nope=1)
