"""Every environment variable the app reads, in one pydantic-settings model, validated once at start-up.

``Settings.from_env()`` reads the process environment (``Settings.from_env(mapping)`` a given one, for tests). A bad
value is refused with the variable's name (``SettingsError``); nothing below ``app.py`` reads the environment.
Provider variables (key, base URLs, sweep concurrency) come from each ``ProviderSpec`` in ``providers/catalog.py``,
so a new provider brings its own. Keys are ``SecretStr``: they never show in a repr, a log line or an error.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self, cast

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from components.upload_quota import UploadLimits
from providers.base import Credentials
from providers.catalog import CATALOG, ProviderSpec
from providers.config import ProviderSettings

#: Variables that belong to the platform (Hugging Face Spaces, the OS), not to this app: read, not documented.
PLATFORM_VARIABLES = frozenset({"SPACE_ID", "XDG_DATA_HOME", "LOCALAPPDATA"})
#: Proxies in front of the app on Hugging Face Spaces (the Spaces proxy appends the client's address last).
SPACES_TRUSTED_PROXIES = 1


class SettingsError(ValueError):
    """One line per bad variable: ``PLAYGROUND_BUDGET_USD: must be 0 or more (got '-1')``."""


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _base_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) <= len("https://"):
        raise ValueError("must be a base URL with its scheme, like https://host")
    return value.rstrip("/")


def _dollars(value: Any) -> Any:
    return value.strip().removeprefix("$").strip() if isinstance(value, str) else value


Usd = Annotated[float, BeforeValidator(_dollars), Field(ge=0), AfterValidator(_finite)]
BaseUrl = Annotated[str, AfterValidator(_base_url)]


def concurrency_variable(provider: str) -> str:
    """``FAL_MAX_CONCURRENCY``: sweep cells in flight at once on one provider."""
    return f"{provider.upper()}_MAX_CONCURRENCY"


class AppSettings(BaseSettings):
    """The app's own variables. ``Settings`` adds each catalog provider's (see ``settings_model``)."""

    model_config = SettingsConfigDict(
        case_sensitive=True, env_ignore_empty=True, extra="ignore", frozen=True, str_strip_whitespace=True
    )
    providers: ClassVar[tuple[ProviderSpec, ...]] = ()

    sandbox: bool = Field(False, validation_alias="PLAYGROUND_SANDBOX")
    sandbox_step_seconds: float = Field(0.15, gt=0, le=60, validation_alias="SANDBOX_STEP_SECONDS")
    budget_usd: Usd | None = Field(None, validation_alias="PLAYGROUND_BUDGET_USD")
    visitor_budget_usd: Usd | None = Field(None, validation_alias="PLAYGROUND_VISITOR_BUDGET_USD")
    database_url: SecretStr | None = Field(None, validation_alias="PLAYGROUND_DATABASE_URL")  # may hold a password
    cache: bool = Field(True, validation_alias="PLAYGROUND_CACHE")
    cache_days: Annotated[float, Field(ge=0), AfterValidator(_finite)] = Field(7.0, validation_alias="PLAYGROUND_CACHE_DAYS")
    cache_mb: Annotated[float, Field(ge=0), AfterValidator(_finite)] = Field(1024.0, validation_alias="PLAYGROUND_CACHE_MB")
    data_dir: Path | None = Field(None, validation_alias="PLAYGROUND_DATA_DIR")
    visitor_concurrency: int = Field(2, ge=1, le=1000, validation_alias="PLAYGROUND_VISITOR_CONCURRENCY")
    trusted_proxies_setting: int | None = Field(None, ge=0, le=10, validation_alias="PLAYGROUND_TRUSTED_PROXIES")
    max_upload_mb: float = Field(25.0, gt=0, le=1024, validation_alias="PLAYGROUND_MAX_UPLOAD_MB")
    upload_mb_per_hour: float = Field(200.0, gt=0, le=1_000_000, validation_alias="PLAYGROUND_UPLOAD_MB_PER_HOUR")
    uploads_mb_per_hour: float = Field(4096.0, gt=0, le=10_000_000, validation_alias="PLAYGROUND_UPLOADS_MB_PER_HOUR")
    sweep_max_cells: int = Field(64, ge=1, validation_alias="PLAYGROUND_SWEEP_MAX_CELLS")
    max_sweeps: int = Field(4, ge=1, validation_alias="PLAYGROUND_MAX_SWEEPS")
    sweep_max_grid_pixels: int = Field(32_000_000, ge=1, validation_alias="PLAYGROUND_SWEEP_MAX_GRID_PIXELS")
    mcp: bool = Field(False, validation_alias="PLAYGROUND_MCP")
    endpoints: str | None = Field(None, validation_alias="PLAYGROUND_ENDPOINTS")
    openapi_url: BaseUrl | None = Field(None, validation_alias="FAL_OPENAPI_URL")
    openapi_fetch: bool | None = Field(None, validation_alias="PLAYGROUND_OPENAPI_FETCH")
    # The platform's
    space_id: str | None = Field(None, validation_alias="SPACE_ID")
    xdg_data_home: str | None = Field(None, validation_alias="XDG_DATA_HOME")
    localappdata: str | None = Field(None, validation_alias="LOCALAPPDATA")

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Environment variable → field name, for every variable this model reads."""
        return {str(info.validation_alias): name for name, info in cls.model_fields.items()}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        """The process environment (``None``) or ``env`` only; raises ``SettingsError`` naming each bad variable."""
        try:
            if env is None:
                return cls()
            known = cls.variables()
            return cls.model_validate({k: v for k, v in env.items() if k in known and v.strip()})
        except ValidationError as exc:
            raise SettingsError(_describe(exc, os.environ if env is None else env)) from None

    # --- derived values

    @property
    def trusted_proxies(self) -> int:
        """``PLAYGROUND_TRUSTED_PROXIES``; unset: 1 on Hugging Face Spaces (``SPACE_ID`` set), else 0."""
        if self.trusted_proxies_setting is not None:
            return self.trusted_proxies_setting
        return SPACES_TRUSTED_PROXIES if self.space_id else 0

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def upload_limits(self) -> UploadLimits:
        """Bytes an hour from one address, and from everyone (``components/upload_quota.py``)."""
        return UploadLimits(per_address=int(self.upload_mb_per_hour * 1024 * 1024),
                            total=int(self.uploads_mb_per_hour * 1024 * 1024))

    @property
    def platform_env(self) -> dict[str, str]:
        """The platform's folder variables, for ``runs.data_dir``-style lookups."""
        pairs = {"XDG_DATA_HOME": self.xdg_data_home, "LOCALAPPDATA": self.localappdata}
        return {k: v for k, v in pairs.items() if v}

    def fetch_documents(self) -> bool:
        """``PLAYGROUND_OPENAPI_FETCH`` when set; else on when ``FAL_OPENAPI_URL`` is set or fal has a server key."""
        if self.openapi_fetch is not None:
            return self.openapi_fetch
        return self.openapi_url is not None or self.provider_key("fal") is not None

    def provider_key(self, provider: str) -> str | None:
        spec = next((s for s in self.providers if s.name == provider), None)
        secret = getattr(self, spec.key_env.lower(), None) if spec else None
        return secret.get_secret_value() if isinstance(secret, SecretStr) else None

    def sweep_concurrency(self) -> dict[str, int]:
        return {s.name: int(getattr(self, concurrency_variable(s.name).lower())) for s in self.providers}

    def provider_settings(self) -> ProviderSettings:
        """Base URLs set in the environment and the server's keys, for ``app.make_backends``."""
        urls: dict[str, str] = {}
        keys: dict[str, Credentials] = {}
        for spec in self.providers:
            for url in spec.urls:
                value = getattr(self, url.env.lower())
                if value:
                    urls[url.env] = value
            key = self.provider_key(spec.name)
            if key:
                keys[spec.name] = Credentials(key, "environment")
        return ProviderSettings(urls=urls, keys=keys)


def _provider_fields(spec: ProviderSpec) -> dict[str, Any]:
    fields: dict[str, Any] = {
        spec.key_env.lower(): (SecretStr | None, Field(None, validation_alias=spec.key_env)),
        concurrency_variable(spec.name).lower(): (
            int,
            Field(spec.sweep_concurrency, ge=1, le=1000, validation_alias=concurrency_variable(spec.name)),
        ),
    }
    for url in spec.urls:
        fields[url.env.lower()] = (BaseUrl | None, Field(None, validation_alias=url.env))
    return fields


@cache
def settings_model(providers: tuple[ProviderSpec, ...] | None = None) -> type[AppSettings]:
    """``AppSettings`` plus the key, URL and concurrency variables of each provider (the catalog's by default)."""
    providers = tuple(CATALOG) if providers is None else providers
    fields: dict[str, Any] = {}
    for spec in providers:
        fields.update(_provider_fields(spec))
    model = create_model("Settings", __base__=AppSettings, **fields)
    model.providers = providers
    return cast(type[AppSettings], model)


Settings = settings_model()
"""The settings for the shipped provider catalog: ``Settings.from_env()``."""


def _describe(exc: ValidationError, env: Mapping[str, str]) -> str:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        name = str(error["loc"][0]) if error["loc"] else "?"
        message = str(error["msg"]).removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
        secret = name.endswith(("_KEY", "_DATABASE_URL"))
        raw = env.get(name)
        got = "" if secret or raw is None else f" (got {raw.strip()[:60]!r})"
        lines.append(f"{name}: {message}{got}")
    return "; ".join(lines)
