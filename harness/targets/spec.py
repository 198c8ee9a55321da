"""Target specs from the command line or pytest options: parsing (pure) and construction,
both driven by the registry in harness.targets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.errors import BadInput
from harness.targets import REMOTE, TARGETS


@dataclass(frozen=True)
class TargetSpec:
    kind: str  # a name in harness.targets.TARGETS, or "remote"
    variant: str | None = None  # what followed 'kind:' (or the kind's default)
    options: dict = field(default_factory=dict)

    @property
    def trigger(self) -> str | None:
        """The replica's trigger."""
        return self.variant if self.kind == "replica" else None

    def label(self) -> str:
        if self.kind == "remote":
            spec = self.options["spec"]
            return spec.label or spec.masked()
        kind = TARGETS[self.kind]
        opts = "".join(f",{k}={v}" for k, v in self.options.items())
        if self.variant and (kind.variant_in_label or self.variant != kind.default_variant or opts):
            return f"{self.kind}:{self.variant}{opts}"
        return self.kind


_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?(?P<user>[^/]*)@")


def mask_userinfo(text: str) -> str:
    """``text`` with any password in its userinfo masked (``u:pw@host`` -> ``u:****@host``,
    with or without a scheme), for every message that repeats what the user typed."""
    m = _USERINFO.match(text)
    if m and ":" in m["user"]:
        user = m["user"].split(":", 1)[0]
        return f"{m['scheme'] or ''}{user}:****@{text[m.end() :]}"
    return text


def parse_target(text: str) -> TargetSpec:
    """'local' | 'replica' | 'replica:TRIGGER' | 'docker' | 'docker:SUITE' | 'smb://...' | a
    named target. No error message repeats a password typed into the text."""
    text = (text or "local").strip()
    if text[:6].lower() == "smb://":  # URL schemes are case-insensitive (RFC 3986 3.1)
        # lazy: a target string of a registered kind is parsed without loading a target module
        from harness.targets.remote_spec import parse_smb_url

        return TargetSpec("remote", options={"spec": parse_smb_url(text)})
    kind, _, rest = text.partition(":")
    known = TARGETS.get(kind)
    if known is not None:
        rest, *pairs = rest.split(",") if known.options else (rest,)
        options = {}
        for pair in pairs:
            key, eq, value = pair.partition("=")
            if not eq or key not in known.options or not value:
                raise BadInput(
                    f"invalid target {mask_userinfo(text)!r}: {pair!r} is not one of "
                    f"{', '.join(o + '=VALUE' for o in known.options)}"
                )
            options[key] = value
        if rest and rest not in known.variants:
            what = (
                f"{kind} takes no ':' suffix"
                if not known.variants
                else f"{kind} {known.variant_name} must be one of {', '.join(known.variants)}"
            )
            raise BadInput(f"invalid target {mask_userinfo(text)!r}: {what}")
        return TargetSpec(kind, rest or known.default_variant, options)
    from harness.targets.remote_spec import config_path, load_named_targets  # lazy: see above

    named = load_named_targets(config_path())
    if text in named:
        return TargetSpec("remote", options={"spec": named[text]})
    spellings = ", ".join(k.spelling for k in TARGETS.values())
    raise BadInput(
        f"invalid target {mask_userinfo(text)!r}: expected {spellings}, "
        "smb://[DOMAIN;]USER@HOST[:PORT]/SHARE or a name from the targets file"
    )


def make_target(spec: TargetSpec, hold_s: float | None = None, degrade_ms: float | None = None):
    """A Target object (not started) for the spec."""
    kind = REMOTE if spec.kind == "remote" else TARGETS.get(spec.kind)
    if kind is None:
        raise BadInput(f"unknown target kind {spec.kind!r}")
    return kind.load().from_spec(spec, hold_s=hold_s, degrade_ms=degrade_ms)
