"""Word coverage of an edition part against a line range of the raw extraction.

usage: python scripts/check_part.py PART.json START END [START END ...]
Prints: share of extraction words found in the part, share of part words found
in the extraction (multiset, after normalization), and the missing words.
"""
import collections, json, sys
sys.path.insert(0, ".")
from assistant.normalize import tokens

HEADER = "تحلیل فرصت ها و چالش های توسعه دیپلماسی شهری در"
lines = open("corpus/paper.extracted.fa.txt", encoding="utf-8").read().split("\n")
part = json.load(open(sys.argv[1], encoding="utf-8"))
ranges = list(map(int, sys.argv[2:]))
src = []
for a, b in zip(ranges[::2], ranges[1::2]):
    for ln in lines[a - 1 : b]:
        if HEADER in ln:
            continue
        src += tokens(ln)

def texts(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "fa" and isinstance(v, str):
                yield v
            elif k not in ("en",):
                yield from texts(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from texts(v)

ed = [t for s in texts(part) for t in tokens(s)]
S, E = collections.Counter(src), collections.Counter(ed)
inter = sum((S & E).values())
print(f"extraction words covered by part: {inter}/{sum(S.values())} = {inter/max(1,sum(S.values())):.4f}")
print(f"part words found in extraction:   {inter}/{sum(E.values())} = {inter/max(1,sum(E.values())):.4f}")
print("missing from part:", dict((S - E).most_common(60)))
print("extra in part:", dict((E - S).most_common(60)))
