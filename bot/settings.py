"""Settings: environment variables over a TOML file named by ``PAPERDESK_CONFIG`` over defaults.

Everything is validated once, at start-up, by the composition root; an invalid value is a
``SettingsError`` whose message names the variable, so the CLI can print one line and exit.
Every number is finite and within a range the arithmetic of a cycle can carry (``inf``, ``nan``
and ``1e308`` are refused here, not by an OverflowError later); the database URL is parsed (scheme,
numeric port) and so are OPENAI_BASE_URL and PAPERDESK_TELEGRAM_API_URL (http(s), a host, a numeric
port). A value echoed in a message is redacted (``broker.redaction``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from broker.redaction import Redactor
from risk.limits import RiskLimits
from storage.engine import DatabaseUrlError, check_url

_VALUE_ERROR = re.compile(r"^Value error, ")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it."""


class SimSettings(BaseModel):
    """The simulated broker (``[sim]`` table, ``PAPERDESK_SIM__<KEY>``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    initial_cash: float = Field(100_000, gt=0, le=1e12)
    slippage_bps: float = Field(5, ge=0, le=1000)
    commission_bps: float = Field(2, ge=0, le=1000)
    min_commission: float = Field(1.0, ge=0, le=1e6)


NotifyLevel = Literal["on", "silent", "off"]


class NotifySettings(BaseModel):
    """Notifications per kind (``[notify]`` table, ``PAPERDESK_NOTIFY__<KIND>``): on, silent (no sound) or off."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    cycle: NotifyLevel = "on"
    approval: NotifyLevel = "on"
    fill: NotifyLevel = "on"
    alert: NotifyLevel = "on"
    report: NotifyLevel = "on"
    retry_attempts: int = Field(4, ge=1, le=20)
    retry_base_seconds: float = Field(1.0, ge=0, le=600)
    flush_interval_seconds: float = Field(60, gt=0, le=86_400)


SLEEVE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SleevePolicy = Literal["rules", "llm", "buy_and_hold", "equal_weight"]


class SleeveSettings(BaseModel):
    """One sleeve (``[sleeves.NAME]`` table): its instruments, policy, base weight and limits."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    instruments: list[str] | None = None  # exactly one of instruments, asset_class, sector, universe_file
    asset_class: list[str] | None = None
    sector: list[str] | None = None
    universe_file: Path | None = None
    policy: SleevePolicy = "rules"
    prompt: str = Field("", max_length=4000)  # the mandate an llm sleeve's system prompt adds
    model: str | None = Field(None, min_length=1, max_length=200)  # an llm sleeve's own model
    base_weight: float = Field(gt=0, le=1)
    min_weight: float = Field(0.0, ge=0, le=1)
    max_weight: float = Field(1.0, gt=0, le=1)
    defensive: bool = False  # gains budget in a defensive regime
    risk: dict[str, float] = Field(default_factory=dict)  # limits that only tighten the desk's [risk]

    @field_validator("asset_class", "sector", "instruments", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_selector(self) -> SleeveSettings:
        chosen = [k for k in ("instruments", "asset_class", "sector", "universe_file") if getattr(self, k)]
        if len(chosen) != 1:
            raise ValueError("name its instruments with exactly one of instruments, asset_class, sector or "
                             f"universe_file (got {', '.join(chosen) or 'none'})")
        if not self.min_weight <= self.base_weight <= self.max_weight:
            raise ValueError(f"base_weight {self.base_weight} must lie between min_weight {self.min_weight} "
                             f"and max_weight {self.max_weight}")
        return self


class AllocationSettings(BaseModel):
    """The master allocator (``[allocation]`` table, ``PAPERDESK_ALLOCATION__<KEY>``); used with sleeves."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    every_days: int = Field(7, ge=1, le=366)  # calendar days between two allocations
    cash_target: float | None = Field(None, ge=0, lt=1)  # default: 1 - the sum of the base weights
    defensive_cash: float = Field(0.25, ge=0, lt=1)
    opportunistic_cash: float = Field(0.05, ge=0, lt=1)
    sharpe_window: int = Field(63, ge=2, le=2520)
    momentum_window: int = Field(21, ge=1, le=2520)
    sharpe_tilt: float = Field(0.05, ge=0, le=1)
    momentum_tilt: float = Field(0.25, ge=0, le=10)
    regime_tilt: float = Field(0.05, ge=0, le=1)
    max_step: float = Field(0.05, gt=0, le=1)


def _default_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "paperdesk"


class Settings(BaseSettings):
    """Every knob of paperdesk; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="PAPERDESK_", env_nested_delimiter="__", extra="ignore",
                                      frozen=True, allow_inf_nan=False)

    home: Path = Field(default_factory=_default_home)
    database_url: str | None = None
    broker: Literal["sim", "alpaca"] = "sim"
    data: str = "synthetic"
    universe: str = "seed"
    policy: Literal["llm", "rules", "sleeves"] | None = None
    synthetic_seed: int = Field(42, ge=0, le=2**63 - 1)
    lookback_days: int = Field(300, ge=60, le=5000)
    log_level: Literal["debug", "info", "warning", "error"] = "warning"
    log_format: Literal["auto", "console", "json"] = "auto"

    openai_api_key: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_BASE_URL"))
    llm_model: str = "gpt-4o-mini"
    llm_cache: Literal["off", "record", "replay"] = "record"
    llm_budget_usd: float | None = Field(default=None, ge=0, le=1e9)
    llm_timeout_seconds: float = Field(60, gt=0, le=3600)
    llm_max_retries: int = Field(3, ge=0, le=10)
    llm_max_tokens: int = Field(4000, ge=256, le=200_000)
    llm_price_input_per_mtok: float = Field(0.15, ge=0, le=1e6)
    llm_price_output_per_mtok: float = Field(0.60, ge=0, le=1e6)
    llm_output_mode: Literal["auto", "json_schema", "json_object", "prompt"] = "auto"
    llm_prompt_max_instruments: int = Field(40, ge=1, le=100_000)

    alpaca_api_key: str | None = Field(default=None, validation_alias=AliasChoices("ALPACA_API_KEY"))
    alpaca_secret_key: str | None = Field(default=None, validation_alias=AliasChoices("ALPACA_SECRET_KEY"))
    alpaca_url: str | None = None
    alpaca_data_url: str | None = None

    telegram_bot_token: str | None = Field(default=None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN"))
    telegram_allowed_users: str = ""
    telegram_viewers: str = ""
    telegram_chat_id: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    web_host: str = Field("127.0.0.1", min_length=1, max_length=253)
    web_port: int = Field(8765, ge=0, le=65535)
    web_public_url: str | None = None
    web_secret: str | None = Field(default=None, min_length=16)
    web_metrics_token: str | None = Field(default=None, min_length=16)
    cycle_cron: str | None = None
    cycle_delay_minutes: int = Field(30, ge=0, le=600)
    report_delay_minutes: int = Field(60, ge=0, le=600)
    monitor_interval_minutes: int = Field(120, ge=0, le=1440)
    monitor_move_alert: float = Field(0.02, gt=0, le=1)
    notify: NotifySettings = Field(default_factory=NotifySettings)

    memory: Literal["off", "mem0"] = "off"
    memory_embedder: Literal["local", "openai"] = "local"
    memory_embedding_model: str = Field("text-embedding-3-small", min_length=1, max_length=200)

    risk: RiskLimits = Field(default_factory=RiskLimits)
    sim: SimSettings = Field(default_factory=SimSettings)
    sleeves: dict[str, SleeveSettings] = Field(default_factory=dict)
    allocator: Literal["rules", "llm"] = "rules"
    allocation: AllocationSettings = Field(default_factory=AllocationSettings)

    @field_validator("sleeves")
    @classmethod
    def _sleeve_names(cls, value: dict[str, SleeveSettings]) -> dict[str, SleeveSettings]:
        for name in value:
            if not SLEEVE_NAME.match(name):
                raise ValueError(f"sleeve name {name!r}: use lower-case letters, digits and _ (at most 40)")
        return value

    @field_validator("data")
    @classmethod
    def _data_spec(cls, value: str) -> str:
        if value in {"synthetic", "yfinance", "alpaca"} or (value.startswith("csv:") and len(value) > 4):
            return value
        raise ValueError("must be synthetic, yfinance, alpaca or csv:DIR")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                check_url(value)
            except DatabaseUrlError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("openai_base_url", "telegram_api_url", "web_public_url")  # Alpaca's: checked when used
    @classmethod
    def _endpoint_url(cls, value: str | None) -> str | None:
        if value is not None:
            check_endpoint(value)
        return value

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment wins over the TOML file, which wins over defaults."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get("PAPERDESK_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the SQLite file in PAPERDESK_HOME."""
        return self.database_url or f"sqlite:///{self.home.expanduser() / 'paperdesk.db'}"

    @property
    def effective_policy(self) -> str:
        """``sleeves`` when sleeves are configured, else ``llm`` when an OpenAI key is set, else ``rules``,
        unless chosen explicitly."""
        return self.policy or ("sleeves" if self.sleeves else "llm" if self.openai_api_key else "rules")


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings; raise ``SettingsError`` with a one-line message."""
    config = os.environ.get("PAPERDESK_CONFIG")
    if config and not Path(config).is_file():
        raise SettingsError(f"PAPERDESK_CONFIG points to {config}, which is not a file")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    except ValueError as exc:  # a TOML syntax error surfaces as a ValueError subclass
        raise SettingsError(f"cannot read {config}: {exc}") from None


def parse_ids(value: str, variable: str) -> tuple[int, ...]:
    """Comma-separated Telegram user ids, in the order listed (repeats dropped); a bad list is a ``SettingsError``."""
    try:
        ids = [int(part) for part in value.replace(" ", "").split(",") if part]
    except ValueError:
        raise SettingsError(f"invalid setting {variable}: use comma-separated numeric user ids "
                            f"(got {value!r})") from None
    return tuple(dict.fromkeys(ids))


def check_endpoint(url: str) -> None:
    """An http(s) URL with a host and, if given, a numeric port; else ``ValueError``."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ValueError("not a valid URL (is the port a number?)") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")


def _describe(exc: ValidationError) -> str:
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    name = _env_name(loc)
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    value = error.get("input")
    shown = "" if isinstance(value, dict) or value is None else f" (got {value!r})"
    message = _VALUE_ERROR.sub("", error["msg"])
    return Redactor().text(f"invalid setting {name}: {message}{shown}{more}")



def _env_name(loc: list[str]) -> str:
    if not loc:
        return "settings"
    if loc[0].isupper():  # an alias such as OPENAI_API_KEY
        return loc[0]
    return "PAPERDESK_" + "__".join(part.upper() for part in loc)
