#!/usr/bin/env python3
"""Write a small fine-tuning task over a real corpus as prompt/completion JSONL.

The task is a text transform a byte-level model has to learn on top of what pre-training gave it:
each prompt is a short phrase cut from the corpus followed by " => ", and the completion is the
phrase in upper case. Only the completion is trained and scored (moetrain finetune / eval --data),
so the completion loss says how well the model learnt the transform, not the corpus.

Usage:
  python3 tools/make_task_data.py --corpus CORPUS.txt --out DIR \
      [--train 2000] [--test 200] [--min-len 8] [--max-len 24] [--seed 1]
CORPUS.txt is any text, e.g. the Go source corpus `tools/go_corpus.sh CORPUS.txt` writes.
Writes DIR/task_train.jsonl and DIR/task_test.jsonl: disjoint phrases (the test phrases never
appear in the training file), chosen by the seed.
"""
import argparse
import json
import os
import random
import re
import sys


def phrases(text, lo, hi):
    """Distinct runs of words of lo..hi characters, taken from the corpus' lines."""
    seen = set()
    for line in text.splitlines():
        words = re.findall(r"[A-Za-z']+", line)
        i = 0
        while i < len(words):
            j, cur = i, ""
            while j < len(words) and len(cur) + len(words[j]) + (1 if cur else 0) <= hi:
                cur = (cur + " " + words[j]) if cur else words[j]
                j += 1
            if len(cur) >= lo and cur.lower() not in seen and cur != cur.upper():
                seen.add(cur.lower())
                yield cur
            i = max(j, i + 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--test", type=int, default=200)
    ap.add_argument("--min-len", type=int, default=8)
    ap.add_argument("--max-len", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    with open(a.corpus, encoding="utf-8", errors="replace") as f:
        text = f.read()
    pool = list(phrases(text, a.min_len, a.max_len))
    need = a.train + a.test
    if len(pool) < need:
        sys.exit(f"make_task_data: the corpus gives {len(pool)} distinct phrases, fewer than --train + --test = {need}")
    random.Random(a.seed).shuffle(pool)
    os.makedirs(a.out, exist_ok=True)
    for name, part in (("task_train.jsonl", pool[: a.train]), ("task_test.jsonl", pool[a.train : need])):
        path = os.path.join(a.out, name)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for p in part:
                f.write(json.dumps({"prompt": p + " => ", "completion": p.upper()}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        print(f"wrote {path}: {len(part)} records")


if __name__ == "__main__":
    main()
