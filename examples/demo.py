"""A small program for `make demo`: parses, renders and hashes some text, so the
flamegraph has a few distinct hot spots."""
import hashlib
import json
import re
import time


def make_records(n):
    return [{"id": i, "name": f"item-{i}", "tags": ["a", "b", str(i % 7)]} for i in range(n)]


def to_json(records):
    return json.dumps(records)


def parse(text):
    return json.loads(text)


def render(records):
    return "\n".join(f"<tr><td>{r['id']}</td><td>{r['name']}</td></tr>" for r in records)


def count_words(html):
    return len(re.findall(r"[a-z]+-\d+", html))


def checksum(html):
    digest = b""
    for _ in range(20):
        digest = hashlib.sha256(html.encode() + digest).digest()
    return digest.hex()


def main():
    deadline = time.time() + 2.0
    rounds = 0
    while time.time() < deadline:
        records = parse(to_json(make_records(2000)))
        html = render(records)
        count_words(html)
        checksum(html)
        rounds += 1
    print(f"demo: {rounds} rounds")


if __name__ == "__main__":
    main()
