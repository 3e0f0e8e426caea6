"""The naive RAG baseline the benchmark compares the assistant against.

Raw PDF extraction (corpus/paper.extracted.fa.txt) -> RecursiveCharacterTextSplitter(1000, 200)
-> the project's E5 embeddings (same model, same query:/passage: prefixes) -> a local Chroma
collection. An answer is the three sentences of the top-4 chunks that share the most words with
the question. It never abstains, ignores conversation history and cites nothing.

    python benchmarks/baseline.py build --dir DIR
    python benchmarks/baseline.py ask --dir DIR "question"      (prints JSON)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: make `assistant` importable
    sys.path.insert(0, str(ROOT))

from assistant import offline  # noqa: E402, F401 - first, for its effect: no telemetry, no model hub
from assistant.embeddings import E5Embeddings  # noqa: E402
from assistant.normalize import tokens  # noqa: E402

CORPUS = ROOT / "corpus" / "paper.extracted.fa.txt"
COLLECTION = "baseline-chunks"
CHUNK_SIZE, CHUNK_OVERLAP = 1000, 200
TOP_CHUNKS, TOP_SENTENCES = 4, 3
SENTENCE_END = re.compile(r"[.!?؟\n]+")


def _client(directory: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(path=str(directory), settings=ChromaSettings(anonymized_telemetry=False))


class Baseline:
    def __init__(self, directory: Path | str | None = None, corpus: Path = CORPUS):
        self.dir = Path(directory) if directory else None
        self.corpus = corpus
        self.embeddings = E5Embeddings()
        self._collection = None

    # ------------------------------------------------------------------ index
    def build(self, directory: Path | str) -> int:
        """Split, embed and store the raw extraction in a fresh Chroma folder; returns the chunk count."""
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.dir = Path(directory)
        text = self.corpus.read_text(encoding="utf-8")
        chunks = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP).split_text(text)
        vectors = self.embeddings.embed_documents(chunks)  # "passage: " prefix added by E5Embeddings
        client = _client(self.dir)
        # embedding_function=None: vectors always come from us, Chroma never loads (downloads) its own model.
        collection = client.create_collection(
            COLLECTION, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
        collection.add(ids=[f"c{i}" for i in range(len(chunks))], embeddings=vectors, documents=chunks)
        self._collection = collection
        return len(chunks)

    @property
    def collection(self):
        if self._collection is None:
            if self.dir is None:
                raise RuntimeError("no index directory: call build(dir) or pass one to Baseline(dir)")
            self._collection = _client(self.dir).get_collection(COLLECTION, embedding_function=None)
        return self._collection

    def warm_up(self) -> None:
        self.embeddings.embed_query("warm up")
        _ = self.collection

    # ------------------------------------------------------------------ answer
    def ask(self, question: str) -> dict:
        vec = self.embeddings.embed_query(question)  # "query: " prefix added by E5Embeddings
        res = self.collection.query(query_embeddings=[vec], n_results=TOP_CHUNKS, include=["documents"])
        chunks = res["documents"][0]
        wanted = set(tokens(question))
        scored, seen = [], set()
        for ci, chunk in enumerate(chunks):
            for si, sentence in enumerate(SENTENCE_END.split(chunk)):
                sentence = " ".join(sentence.split())
                toks = tokens(sentence)
                key = " ".join(toks)
                if not toks or key in seen:  # overlapping chunks repeat sentences
                    continue
                seen.add(key)
                scored.append((-len(wanted & set(toks)), ci, si, sentence))
        best = sorted(scored)[:TOP_SENTENCES]  # most shared words; ties: higher-ranked chunk, earlier sentence
        return {"answer": " ".join(s for *_, s in best), "retrieved_chunks": chunks}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="baseline.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    sp = sub.add_parser("build")
    sp.add_argument("--dir", type=Path, required=True)
    sp = sub.add_parser("ask")
    sp.add_argument("--dir", type=Path, required=True)
    sp.add_argument("question", nargs="+")
    args = p.parse_args(argv)
    if args.command == "build":
        n = Baseline().build(args.dir)
        print(f"built {n} chunks into {args.dir}")
    else:
        print(json.dumps(Baseline(args.dir).ask(" ".join(args.question)), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
