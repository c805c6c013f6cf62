"""What a profile of programs/chains.py says, judged against what the program did
(used by test_consistent_stacks.py and bench/consistent.py): samples, impossible
chains (g-frames that are no prefix of any chain the program calls: two chains
spliced) and each group's share of the samples against the share of time the
program measured."""
import json
import re

G_FRAME = re.compile(r"(?:^|;)g(\d+) \(")


def judge(raw_text, stdout):
    """{'samples', 'in_chains', 'impossible', 'shares', 'truth', 'quick_us', 'spin'}
    from a raw (folded) profile and chains.py's JSON output. A sample whose
    g-frames begin chains of both groups (most of those with one g-frame) counts
    for each group by its share of those chains: each of them spends the same time
    there. Left out, they took 0.3 point from the quick share."""
    run = json.loads(stdout)
    groups_of = {}
    for chain, group in zip(run["chains"], run["groups"]):
        for k in range(1, len(chain) + 1):
            of = groups_of.setdefault(tuple(chain[:k]), {})
            of[group] = of.get(group, 0) + 1
    samples = in_chains = impossible = 0
    by_group = {g: 0 for g in run["truth"]}
    for line in raw_text.splitlines():
        stack, _, n = line.rpartition(" ")
        n = int(n)
        samples += n
        gs = tuple(int(g) for g in G_FRAME.findall(stack))
        if not gs:
            continue
        in_chains += n
        found = groups_of.get(gs)
        if found is None:
            impossible += n
        else:
            chains = sum(found.values())
            for group, k in found.items():
                by_group[group] += n * k / chains
    told = sum(by_group.values())
    shares = {g: c / told if told else 0.0 for g, c in by_group.items()}
    return {"samples": samples, "in_chains": in_chains, "impossible": impossible,
            "shares": shares, "truth": run["truth"], "quick_us": run["quick_us"],
            "spin": run["spin"]}
