"""Does decoding several sequences at once pay on this machine's cores?

llama.cpp decodes a batch that holds one token of each of N sequences in one pass, so N
answers to the same prompt (self-consistency: sample N, vote on the executed answer) could
cost less than N times one. This measures it on the local model: the prompt is evaluated
once and its KV cache copied to every sequence, then G tokens are sampled for each of N
sequences together (top-40, temperature 0.7, by Gumbel-max; 1.3 ms a token in numpy). It prints generated
tokens/s for N = 1, 2, 4 and the time of N answers against N single answers, measured in the
same run.

    python bench/parallel_sequences.py [--model qwen2.5-coder-0.5b] [--tokens 64]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smolnb.models.local.server import _threads
from smolnb.models.local.weights import ensure_weights

PROMPT = (
    "<|im_start|>system\nYou solve tasks by writing Python code.<|im_end|>\n"
    "<|im_start|>user\nHow many days are there between 2024-02-03 and 2024-11-30? Write the code that "
    "computes it, then say the answer.<|im_end|>\n<|im_start|>assistant\n"
)


class Batched:
    """One llama.cpp context that holds up to `n_seq` sequences in one KV cache."""

    def __init__(self, path: Path, n_seq: int, threads: int) -> None:
        from llama_cpp import Llama
        from llama_cpp import _internals as internals
        from llama_cpp import llama_cpp as lib

        self.L = lib
        self.llm = Llama(str(path), n_ctx=4096, n_batch=512, n_threads=threads, n_threads_batch=threads, verbose=False)
        params = self.llm.context_params
        params.n_seq_max = n_seq
        params.kv_unified = True  # the sequences share the cache's cells (and the copied prompt)
        self.ctx = internals.LlamaContext(model=self.llm._model, params=params, verbose=False)
        self.memory = lib.llama_get_memory(self.ctx.ctx)
        self.n_vocab = self.llm.n_vocab()
        self.n_seq = n_seq
        self.batch = lib.llama_batch_init(512, 0, n_seq)

    def close(self) -> None:
        self.L.llama_batch_free(self.batch)
        self.ctx.close()
        self.llm.close()

    def _decode(self, entries: list[tuple[int, int, int, bool]]) -> None:
        """entries: (token, position, sequence, wants logits)."""
        b = self.batch
        b.n_tokens = len(entries)
        for i, (token, pos, seq, logits) in enumerate(entries):
            b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, pos, 1, logits
            b.seq_id[i][0] = seq
        if self.L.llama_decode(self.ctx.ctx, b) != 0:
            raise RuntimeError("llama_decode failed")

    def _sample(self, index: int, rng: np.random.Generator) -> int:
        logits = np.ctypeslib.as_array(self.L.llama_get_logits_ith(self.ctx.ctx, index), shape=(self.n_vocab,))
        top = np.argpartition(logits, -40)[-40:]  # llama.cpp's default top-k
        return int(top[np.argmax(logits[top] / 0.7 + rng.gumbel(size=40))])

    def answers(self, n: int, tokens: int, seed: int = 0) -> tuple[float, float]:
        """Sample `n` answers of `tokens` tokens; returns (prompt seconds, generation seconds)."""
        rng = np.random.default_rng(seed)
        self.L.llama_memory_clear(self.memory, True)
        prompt = self.llm.tokenize(PROMPT.encode(), add_bos=False, special=True)
        start = time.perf_counter()
        self._decode([(t, p, 0, p == len(prompt) - 1) for p, t in enumerate(prompt)])
        for seq in range(1, n):
            self.L.llama_memory_seq_cp(self.memory, 0, seq, -1, -1)
        nexts = [self._sample(len(prompt) - 1, rng) for _ in range(n)]
        prompted = time.perf_counter()
        for step in range(tokens):
            self._decode([(nexts[seq], len(prompt) + step, seq, True) for seq in range(n)])
            nexts = [self._sample(seq, rng) for seq in range(n)]
        return prompted - start, time.perf_counter() - prompted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    threads = _threads()
    engine = Batched(ensure_weights(args.model), 4, threads)
    try:
        engine.answers(1, 8)  # warm-up
        rows = {}
        for n in (1, 2, 4):
            runs = sorted((engine.answers(n, args.tokens, seed) for seed in range(args.repeat)), key=lambda r: sum(r))
            rows[n] = runs[len(runs) // 2]
    finally:
        engine.close()
    print(f"{args.model}, {threads} threads, {args.tokens} tokens an answer, median of {args.repeat}")
    one = sum(rows[1])
    for n, (prompt, gen) in rows.items():
        print(
            f"N={n}: prompt {prompt:.2f} s, generation {gen:.2f} s = {n * args.tokens / gen:.1f} tokens/s; "
            f"{n} answers {prompt + gen:.2f} s, against {n} single answers {n * one:.2f} s: {n * one / (prompt + gen):.2f}x"
        )


if __name__ == "__main__":
    main()
