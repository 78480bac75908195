#!/usr/bin/env python3
"""Build the course sentiment dataset data/reviews/reviews.csv.

The reviews are composed from sentence pools in data/reviews/pools/ (one text file
per domain plus common.txt).  Every pool line was written specifically for this
dataset (see README.md, "How it was written"); this script only chooses, orders
and joins them, fills a few fictional-name slots ({brand}, {rival}, {title},
{fname}, {mname}), and applies a light "informal typing" transform (slang,
misspellings, lower case, CAPS) to about one review in ten.

Pool file format: "== section" starts a section (short_pos, asp_neg, close_pos, ...;
the suffix _pos/_neg is the polarity the line expresses); "== slot NAME" lists
values for {NAME}; "== tags" lists sub-categories with weights; a line prefixed
"[tag] " is only used in reviews of that sub-category.  Labels come from
construction: a positive review is built from positive material, optionally with
one small concession (section "flaw") that the review then overrules, and vice
versa ("plus" for negative reviews).  "sarc" lines are sarcastic complaints and
only appear in negative reviews.  "turn_start_pos" are negative-sounding openings
of positive reviews ("turn_start_neg" the reverse).

After the composed reviews (shuffled, ids 1..3310) the builder appends, in file order, the
whole reviews in handwritten.csv (columns domain,text,label): complete reviews written one by
one as prose rather than composed from the pools; then the one-line verdicts of snippets.csv
(critics' lines on films and culture, short customer sentences); then critics.csv, film critics'
lines in the plain register of published reviews.  They use no random numbers and are checked for
duplicates against the composed part and against each other.

Every composed review takes all its lines from one sentence family (column `group`, see GROUPS);
written reviews get the family of their own text.  `--check` measures what that buys: how many
test reviews repeat a training sentence under a split by review and under a split by group.

Deterministic (fixed seed, no external data), standard library only.

    python3 data/reviews/build_reviews.py            # write reviews.csv and print stats
    python3 data/reviews/build_reviews.py --check    # only print stats of the existing CSV
"""

import argparse
import collections
import csv
import hashlib
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
POOL_DIR = os.path.join(HERE, "pools")
OUT_CSV = os.path.join(HERE, "reviews.csv")
HANDWRITTEN_CSV = os.path.join(HERE, "handwritten.csv")
SNIPPETS_CSV = os.path.join(HERE, "snippets.csv")
CRITICS_CSV = os.path.join(HERE, "critics.csv")
SEED = 4207

# Number of reviews per domain (always even: half positive, half negative).
DOMAIN_SIZES = {
    "films": 560,
    "electronics": 250,
    "restaurants": 250,
    "hotels": 250,
    "apps": 250,
    "clothing": 250,
    "books": 250,
    "home_appliances": 250,
    "airlines": 250,
    "beauty": 250,
    "games": 250,
    "customer_service": 250,
}

# Part 3 (snippets.csv): one-line critics' verdicts on films and culture, and short customer sentences.
# Part 4 (critics.csv): film critics' lines in a plainer register, all in domain "films".
SNIPPET_DOMAINS = {*DOMAIN_SIZES, "culture"}

# Share of short (<15 words), medium (15-60) and long (60-200; films 80-200) reviews.
BUCKET_SHARES = {
    "films": (0.14, 0.24, 0.62),
    "default": (0.215, 0.495, 0.29),
}

# Product domains may use common lines tagged [prod], service domains those tagged [serv].
DOMAIN_KIND = {
    "electronics": "prod", "apps": "prod", "clothing": "prod", "books": "prod",
    "home_appliances": "prod", "beauty": "prod", "games": "prod",
    "restaurants": "serv", "hotels": "serv", "airlines": "serv", "customer_service": "serv",
    "films": "film",
}

INFORMAL_RATE = 0.1  # share of reviews passed through the informal-typing transform

# Sentence families: every pool line belongs to one of GROUPS families (by a hash of its text), and a
# composed review takes all its lines from one family, written to the CSV as its `group`. Reviews of
# different groups share no pool sentence, so a split that keeps each group whole tests the model on
# sentences it never saw in training. A random split of reviews does not: most of its test reviews
# reuse a training review's sentence verbatim (`--check` measures both).
GROUPS = 10


# --------------------------------------------------------------------------- pools

class Tag:
    """Sub-category restriction of a pool line."""

    def __init__(self, names, negate=False):
        self.names = frozenset(names)
        self.negate = negate

    def allows(self, tag):
        return (tag not in self.names) if self.negate else (tag in self.names)


def allowed(line_tag, review_tag):
    return line_tag is None or line_tag.allows(review_tag)


class Pools:
    """Sections of one pool file. A line may carry a "[tag] " or "[tag1|tag2] " prefix: it is then
    only used in reviews of that sub-category (e.g. [shoes] lines only in reviews about shoes).
    "[!tag] " means: any sub-category except that one."""

    def __init__(self, path, kind=None):
        self.kind = kind
        self.no_common = False
        self.sections = collections.defaultdict(list)
        self.slots = collections.defaultdict(list)
        self.tags = {}
        current = None
        with open(path, encoding="utf-8") as fh:
            for raw in fh:
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                if line.startswith("== "):
                    current = line[3:].strip()
                    continue
                tag = None
                m = re.match(r"\[(!?)([\w|]+)\]\s+(.*)$", line)
                if m:
                    tag, line = Tag(m.group(2).split("|"), negate=bool(m.group(1))), m.group(3)
                if current.startswith("slot "):
                    self.slots[current[5:]].append((tag, line))
                elif current == "tags":
                    name, weight = line.split()
                    self.tags[name] = float(weight)
                elif current == "options":
                    self.no_common = self.no_common or line == "no_common"
                else:
                    self.sections[current].append((tag, line))

    def get(self, name):
        return self.sections.get(name, [])

    def has(self, name):
        return bool(self.sections.get(name))


class Picker:
    """Chooses pool lines, always among the least-used eligible ones, so that no
    hand-written line is repeated much more often than any other."""

    def __init__(self, rng):
        self.rng = rng
        self.uses = collections.Counter()

    def pick(self, items, tag, avoid, group):
        cands = [t for (tg, t) in items if allowed(tg, tag) and t not in avoid and family(t) == group]
        if not cands:
            return None
        low = min(self.uses[t] for t in cands)
        best = [t for t in cands if self.uses[t] == low]
        choice = self.rng.choice(best)
        self.uses[choice] += 1
        return choice


# --------------------------------------------------------------------------- text helpers

KEEP_CAPS = {"I", "I'm", "I've", "I'd", "I'll", "TV", "GPS", "OK"}
CONNECT_ADD = ["Also,", "Plus,", "On top of that,", "And", "Oh, and", "What's more,", "Besides that,"]
CONNECT_ADD_POS = ["Best of all,", "Even better,", "Happily,"]
CONNECT_ADD_NEG = ["Worse still,", "To top it off,", "Even worse,", "And sadly,"]
CONNECT_CONCEDE = ["To be fair,", "In fairness,", "Admittedly,", "Mind you,", "If I'm picky,", "Granted,"]
FILM_ASPECTS = ("act_", "dir_", "script_", "pace_")
FILLER_DEVICE = {"cont": "contrast", "negp": "negation", "negn": "negation", "cmp_": "comparison"}
CONNECT_RETURN = ["Still,", "Even so,", "That said,", "But", "Overall though,", "Regardless,", "Either way,"]


def words(text):
    return len(text.split())


def decap(sentence):
    """Lower-case the first letter so the sentence can follow a connector."""
    first = sentence.split(" ", 1)[0]
    if sentence.startswith("{") or first.rstrip(",.!?:;") in KEEP_CAPS:
        return sentence
    if len(first) > 1 and first[:2].isupper():  # acronym or shouting
        return sentence
    return sentence[0].lower() + sentence[1:]


def connect(connector, sentence):
    return connector + " " + decap(sentence)


def fill_slots(text, ctx):
    return re.sub(r"\{(\w+)\}", lambda m: ctx[m.group(1)], text)


def norm_key(text):
    """Duplicate key: case-, whitespace- and punctuation-insensitive."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", "", text.lower())).strip()


def family(text):
    """The sentence family (0..GROUPS-1) of a pool line or a whole written review: stable across runs."""
    return int(hashlib.sha256(norm_key(text).encode("utf-8")).hexdigest(), 16) % GROUPS


# --------------------------------------------------------------------------- informal transform

INFORMAL_SUBS = [
    (r"\byou\b", "u"), (r"\byour\b", "ur"), (r"\breally\b", "rly"), (r"\bdefinitely\b", "definately"),
    (r"\bbecause\b", "cuz"), (r"\bthough\b", "tho"), (r"\bprobably\b", "prob"), (r"\bwith\b", "w"),
    (r"\ba lot\b", "alot"), (r"\buntil\b", "untill"), (r"\bgoing to\b", "gonna"), (r"\bwant to\b", "wanna"),
    (r"\bokay\b", "ok"), (r"\bplease\b", "pls"), (r"\bpeople\b", "ppl"), (r"\bseparate\b", "seperate"),
    (r"\breceived?\b", "recieved"), (r"\bsomething\b", "somethin"), (r"\bthe\b", "teh"),
    (r"\bweird\b", "wierd"), (r"\btonight\b", "tonite"), (r"\bbefore\b", "b4"), (r"\bkind of\b", "kinda"),
    (r"\bdon't know\b", "dunno"), (r"\bisn't\b", "aint"), (r"\bto be honest\b", "tbh"),
]
INFORMAL_TAILS_ANY = ["lol", "tbh", "ngl", "fr", "imo", "just saying", "honestly"]
INFORMAL_TAILS = {1: ["10/10", "highly rec", "love it"], 0: ["smh", "ugh", "avoid avoid avoid", "not happy"]}
EMPHASIS = re.compile(
    r"\b(love[ds]?|great|amazing|brilliant|perfect|best|awful|terrible|worst|never|broke|broken|useless|"
    r"garbage|rubbish|waste|not|never|really|every|nothing|always|actually|refund|avoid|hate|again|worth)\b",
    re.IGNORECASE)


def swap_typo(rng, text):
    toks = text.split(" ")
    idx = [i for i, t in enumerate(toks) if len(t) >= 5 and t.isalpha()]
    if not idx:
        return text
    i = rng.choice(idx)
    w = toks[i]
    j = rng.randrange(1, len(w) - 2)
    if rng.random() < 0.5:
        toks[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]  # swapped letters
    else:
        toks[i] = w[:j] + w[j + 1:]  # dropped letter
    return " ".join(toks)


def informalize(rng, text, label):
    """Make a review look typed in a hurry: slang, misspellings, lower case, CAPS emphasis."""
    subs = rng.sample(INFORMAL_SUBS, k=4)
    for pat, rep in subs:
        if rng.random() < 0.7:
            text = re.sub(pat, rep, text, count=rng.choice([1, 2]), flags=re.IGNORECASE)
    if rng.random() < 0.6:
        text = text.replace("'", "").replace("’", "")
    style = rng.random()
    if style < 0.45:
        text = text.lower()
    if rng.random() < 0.5:
        hits = list(EMPHASIS.finditer(text))
        if hits:
            m = rng.choice(hits)
            text = text[:m.start()] + m.group(0).upper() + text[m.end():]
    if rng.random() < 0.5:
        text = swap_typo(rng, text)
    if rng.random() < 0.25:
        text = re.sub(r"\bso (good|bad|happy|comfy|slow|easy|glad|pleased|soft|cheap|fun|boring|rude|dirty|loud)\b",
                      r"sooo \1", text, count=1, flags=re.IGNORECASE)
    r = rng.random()
    if r < 0.3:
        text = text.rstrip(".") if text.endswith(".") else text
    elif r < 0.45:
        text = re.sub(r"\.$", "...", text)
    if rng.random() < 0.35:
        tail = rng.choice(INFORMAL_TAILS_ANY + INFORMAL_TAILS[label])
        text = text.rstrip(" .") + " " + tail
    text = re.sub(r"\s+", " ", text).strip()
    return text


# --------------------------------------------------------------------------- composition

class Composer:
    def __init__(self, rng, common):
        self.rng = rng
        self.common = common
        self.picker = Picker(rng)
        self.used_standalone = set()

    # pools: domain section plus, where it exists, the common section of the same name
    def pool(self, dom, name, with_common=True):
        items = list(dom.get(name))
        if with_common and not dom.no_common:
            for tag, text in self.common.get(name):
                if allowed(tag, dom.kind):
                    items.append((None, text))
        return items

    def has(self, dom, name):
        return bool(self.pool(dom, name))

    def choose(self, dom, name, st, with_common=True):
        text = self.picker.pick(self.pool(dom, name, with_common), st["tag"], st["avoid"], st["group"])
        if text is None:
            return None
        st["avoid"].add(text)
        return text

    def new_state(self, dom, group):
        rng = self.rng
        tag = None
        if dom.tags:
            names = sorted(dom.tags)
            tag = rng.choices(names, weights=[dom.tags[n] for n in names])[0]
        ctx = {}
        for slot, values in sorted(dom.slots.items()):
            ok = [v for (tg, v) in values if allowed(tg, tag)]
            rng.shuffle(ok)
            ctx[slot] = ok[0]
            ctx[slot + "2"] = ok[1] if len(ok) > 1 else ok[0]
        if "brand" in ctx:
            ctx["rival"] = ctx["brand2"]
        return {"tag": tag, "avoid": set(), "ctx": ctx, "devices": set(), "group": group}

    # ---- building blocks
    def sent(self, dom, name, st, device=None, with_common=True):
        s = self.choose(dom, name, st, with_common)
        if s is not None and device:
            st["devices"].add(device)
        return s

    def maybe_connect(self, s, kind, label, p=0.18):
        if s is None or self.rng.random() >= p:
            return s
        pool = list(CONNECT_ADD) + (CONNECT_ADD_POS if label else CONNECT_ADD_NEG)
        return connect(self.rng.choice(pool), s)

    def concession(self, dom, st, label, back_sections=("asp_",)):
        """A small opposite-polarity remark followed by a return to the overall verdict."""
        rng = self.rng
        S = "pos" if label else "neg"
        minor = self.sent(dom, "flaw" if label else "plus", st, "mixed", with_common=False)
        if minor is None:
            return []
        if rng.random() < 0.35:
            minor = connect(rng.choice(CONNECT_CONCEDE), minor)
        back = self.sent(dom, rng.choice(back_sections) + S, st) or self.sent(dom, "close_" + S, st)
        if back is None:
            return [minor]
        if rng.random() < 0.7:
            back = connect(rng.choice(CONNECT_RETURN), back)
            st["devices"].add("contrast")
        return [minor, back]

    def opening(self, dom, st, label, long=False):
        rng = self.rng
        S = "pos" if label else "neg"
        r = rng.random()
        if r < 0.14:
            a = self.sent(dom, "turn_start_" + S, st, "turn")
            b = self.sent(dom, "turn_pivot_" + S, st, "turn")
            return [a, b]
        if r < 0.30 and not label:
            return [self.sent(dom, "sarc", st, "sarcasm")]
        if r < 0.48:
            return [self.sent(dom, "ctx", st, with_common=False)] + (
                [self.sent(dom, "open_" + S, st)] if long and rng.random() < 0.5 else [])
        if r < 0.58:
            return [self.sent(dom, "neg" + S[0], st, "negation")]
        return [self.sent(dom, "open_" + S, st, with_common=False)]

    def ending(self, dom, st, label, p_close=0.8, p_rating=0.3):
        rng = self.rng
        S = "pos" if label else "neg"
        out = []
        if rng.random() < p_close:
            out.append(self.sent(dom, "close_" + S, st))
        if rng.random() < p_rating:
            st["devices"].add("rating")
            r = self.sent(dom, "rating_" + S, st)
            if rng.random() < 0.5:
                out.append(r)
            else:
                out.insert(0, r)
        return out

    # ---- reviews by length bucket
    def short(self, dom, st, label):
        rng = self.rng
        S = "pos" if label else "neg"
        r = rng.random()
        for _ in range(40):
            if r < 0.5:
                s = self.picker.pick(self.pool(dom, "short_" + S), st["tag"],
                                     st["avoid"] | self.used_standalone, st["group"])
                if s is not None:
                    self.used_standalone.add(s)
                    return [s]
                r = 0.6
                continue
            elif r < 0.78:
                a = self.sent(dom, "short_" + S, st)
                b_pool = rng.choice(["close_" + S, "rating_" + S, "short_" + S])
                if b_pool.startswith("rating"):
                    st["devices"].add("rating")
                b = self.sent(dom, b_pool, st)
                parts = [a, b] if rng.random() < 0.6 else [b, a]
            else:
                names = ["asp_" + S, "act_" + S, "end_" + S, "neg" + S[0], "contrast_" + S] + (
                    ["sarc", "sarc"] if not label else ["cmp_pos"])
                name = rng.choice([n for n in names if self.has(dom, n)])
                dev = {"sarc": "sarcasm", "negp": "negation", "negn": "negation",
                       "contrast_pos": "contrast", "contrast_neg": "contrast", "cmp_pos": "comparison"}.get(name)
                parts = [self.sent(dom, name, st, dev)]
                if rng.random() < 0.5:
                    parts.append(self.sent(dom, rng.choice(["close_" + S, "short_" + S]), st))
            parts = [p for p in parts if p]
            if parts and words(" ".join(parts)) < 15:
                return parts
            parts = parts[:1]
            if parts and words(parts[0]) < 15:
                return parts
            st["avoid"] = set()
            r = rng.random()
        return ["Meh."]

    def medium(self, dom, st, label):
        rng = self.rng
        S = "pos" if label else "neg"
        plan = rng.choices(
            ["plain", "ctx", "contrast", "mixed", "turn", "sarc", "negation", "compare", "rating", "story"],
            weights=[22, 9, 13, 11, 9, 13 if not label else 0, 10, 8, 8, 5])[0]
        out = []
        if plan == "plain":
            if rng.random() < 0.55:
                out.append(self.sent(dom, "open_" + S, st, with_common=False))
            out.append(self.sent(dom, "asp_" + S, st))
            if rng.random() < 0.5:
                out.append(self.maybe_connect(self.sent(dom, "asp_" + S, st), "add", label, 0.3))
            out += self.ending(dom, st, label, 0.6, 0.1)
        elif plan == "ctx":
            out.append(self.sent(dom, "ctx", st, with_common=False))
            out.append(self.sent(dom, "asp_" + S, st))
            if rng.random() < 0.4:
                out.append(self.sent(dom, "asp_" + S, st))
            out += self.ending(dom, st, label, 0.7, 0.1)
        elif plan == "contrast":
            if rng.random() < 0.4:
                out.append(self.sent(dom, rng.choice(["open_" + S, "ctx"]), st, with_common=False))
            out.append(self.sent(dom, "contrast_" + S, st, "contrast"))
            out += self.ending(dom, st, label, 0.6, 0.2)
        elif plan == "mixed":
            out.append(self.sent(dom, "asp_" + S, st))
            out += self.concession(dom, st, label)
            if rng.random() < 0.5:
                out += self.ending(dom, st, label, 0.8, 0.2)
        elif plan == "turn":
            out.append(self.sent(dom, "turn_start_" + S, st, "turn"))
            if rng.random() < 0.8:
                out.append(self.sent(dom, "turn_pivot_" + S, st, "turn"))
            out.append(self.sent(dom, "asp_" + S, st))
            out += self.ending(dom, st, label, 0.7, 0.15)
        elif plan == "sarc":
            out.append(self.sent(dom, "sarc", st, "sarcasm"))
            out.append(self.sent(dom, "asp_neg", st))
            out += self.ending(dom, st, label, 0.5, 0.15)
        elif plan == "negation":
            out.append(self.sent(dom, "neg" + S[0], st, "negation"))
            out.append(self.sent(dom, "asp_" + S, st))
            out += self.ending(dom, st, label, 0.5, 0.1)
            if rng.random() < 0.5:
                out = out[1:2] + out[:1] + out[2:]
        elif plan == "compare":
            out.append(self.sent(dom, "cmp_" + S, st, "comparison"))
            out.append(self.sent(dom, "asp_" + S, st))
            out += self.ending(dom, st, label, 0.5, 0.1)
            if rng.random() < 0.5:
                out = out[1:2] + out[:1] + out[2:]
        elif plan == "rating":
            out.append(self.sent(dom, "asp_" + S, st))
            if rng.random() < 0.5:
                out.append(self.sent(dom, "asp_" + S, st))
            out += self.ending(dom, st, label, 0.3, 1.0)
        elif plan == "story":
            out.append(self.sent(dom, "story_" + S, st, with_common=False))
            out += self.ending(dom, st, label, 0.9, 0.2)
        return [s for s in out if s]

    def long(self, dom, st, label, min_words=60, max_words=200):
        rng = self.rng
        S = "pos" if label else "neg"
        head = [s for s in self.opening(dom, st, label, long=True) if s]
        body = []
        for _ in range(rng.choice([2, 2, 3, 3, 4])):
            body.append([self.maybe_connect(self.sent(dom, "asp_" + S, st), "add", label)])
        if rng.random() < 0.4:
            body.append([self.sent(dom, "story_" + S, st, with_common=False)])
        if rng.random() < 0.5:
            body.append(self.concession(dom, st, label))
        if rng.random() < 0.3:
            body.append([self.sent(dom, "contrast_" + S, st, "contrast")])
        if rng.random() < 0.28:
            body.append([self.sent(dom, "cmp_" + S, st, "comparison")])
        if rng.random() < 0.2:
            body.append([self.sent(dom, "neg" + S[0], st, "negation")])
        if not label and rng.random() < 0.18:
            body.append([self.sent(dom, "sarc", st, "sarcasm")])
        rng.shuffle(body)
        tail = self.ending(dom, st, label, 0.85, 0.3)
        target = rng.randint(min_words, min(max_words, min_words + rng.choice([25, 40, 60, 90])))

        def total():
            return words(" ".join(s for s in head + [x for b in body for x in b] + tail if s))

        fillers = ["asp_" + S, "asp_" + S, "story_" + S, "contrast_" + S, "neg" + S[0], "cmp_" + S]
        while total() < target and fillers:
            name = rng.choice(fillers)
            extra = self.sent(dom, name, st, FILLER_DEVICE.get(name[:4]))
            if extra is None:  # this family has no unused line of that kind left: try the others
                fillers = [f for f in fillers if f != name]
                continue
            body.insert(rng.randrange(len(body) + 1), [self.maybe_connect(extra, "add", label)])
        while total() > max_words and len(body) > 1:
            body.pop(rng.randrange(len(body)))
        return [s for s in head + [x for b in body for x in b] + tail if s]

    # ---- films have their own anatomy: plot, acting, direction, pacing, script, ending
    def film_long(self, dom, st, label):
        rng = self.rng
        S = "pos" if label else "neg"
        head = []
        if rng.random() < 0.6:
            head = [s for s in self.opening(dom, st, label, long=False) if s]
        plot = [self.sent(dom, "plot", st, with_common=False)]
        if rng.random() < 0.65:
            plot.append(self.sent(dom, "plot2", st, with_common=False))
        body = [[self.sent(dom, "act_" + S, st, with_common=False)]]
        if rng.random() < 0.4:
            body.append([self.maybe_connect(self.sent(dom, "act_" + S, st, with_common=False), "add", label)])
        for name, p in (("dir_", 0.75), ("pace_", 0.6), ("script_", 0.55)):
            if rng.random() < p:
                body.append([self.maybe_connect(self.sent(dom, name + S, st, with_common=False), "add", label, 0.12)])
        if rng.random() < 0.5:
            body.append(self.concession(dom, st, label, FILM_ASPECTS))
        if rng.random() < 0.22:
            body.append([self.sent(dom, "contrast_" + S, st, "contrast")])
        if rng.random() < 0.22:
            body.append([self.sent(dom, "cmp_" + S, st, "comparison")])
        if rng.random() < 0.18:
            body.append([self.sent(dom, "neg" + S[0], st, "negation")])
        if not label and rng.random() < 0.2:
            body.append([self.sent(dom, "sarc", st, "sarcasm")])
        rng.shuffle(body)
        end = [self.sent(dom, "end_" + S, st, with_common=False)] if rng.random() < 0.75 else []
        tail = self.ending(dom, st, label, 0.85, 0.45)
        target = rng.randint(80, rng.choice([120, 150, 190]))

        def parts():
            return [s for s in head + plot + [x for b in body for x in b] + end + tail if s]

        fillers = [name + S for name in ("act_", "dir_", "pace_", "script_")]
        while words(" ".join(parts())) < target and fillers:
            name = rng.choice(fillers)
            extra = self.sent(dom, name, st, with_common=False)
            if extra is None:  # as in long(): try the other kinds before giving up
                fillers = [f for f in fillers if f != name]
                continue
            body.insert(rng.randrange(len(body) + 1), [extra])
        while words(" ".join(parts())) > 200 and len(body) > 1:
            body.pop(rng.randrange(len(body)))
        return parts()

    def film_medium(self, dom, st, label):
        rng = self.rng
        S = "pos" if label else "neg"
        if rng.random() < 0.45:
            out = [self.sent(dom, "plot", st, with_common=False)]
        else:
            out = [s for s in self.opening(dom, st, label) if s]
        picks = rng.sample(["act_", "dir_", "pace_", "script_", "end_"], k=rng.choice([1, 2]))
        out += [self.sent(dom, p + S, st, with_common=False) for p in picks]
        if rng.random() < 0.2:
            out += self.concession(dom, st, label, FILM_ASPECTS)
        elif rng.random() < 0.15:
            out.append(self.sent(dom, "contrast_" + S, st, "contrast"))
        out += self.ending(dom, st, label, 0.7, 0.3)
        return [s for s in out if s]

    def compose(self, domain, dom, label, bucket, group):
        best = None
        for _ in range(200):
            st = self.new_state(dom, group)
            if bucket == "short":
                parts = self.short(dom, st, label)
                lo, hi = 1, 14
            elif bucket == "medium":
                parts = (self.film_medium if domain == "films" else self.medium)(dom, st, label)
                lo, hi = 15, 60
            else:
                if domain == "films":
                    parts = self.film_long(dom, st, label)
                    lo, hi = 80, 200
                else:
                    parts = self.long(dom, st, label)
                    lo, hi = 61, 200
            text = fill_slots(" ".join(parts), st["ctx"])
            if lo <= words(text) <= hi:
                return text, st["devices"]
            if bucket == "long" and words(text) <= hi and (best is None or words(text) > words(best[0])):
                best = text, st["devices"]
        # A family can run short of unused lines for a long review: take its longest medium-length one.
        if best is not None and words(best[0]) > 40:
            return best
        raise RuntimeError(f"could not compose a {bucket} review for {domain} from sentence family {group}")


# --------------------------------------------------------------------------- build

def bucket_plan(domain, n_per_label, rng):
    shares = BUCKET_SHARES.get(domain, BUCKET_SHARES["default"])
    n_short = round(n_per_label * shares[0])
    n_long = round(n_per_label * shares[2])
    n_med = n_per_label - n_short - n_long
    plan = ["short"] * n_short + ["medium"] * n_med + ["long"] * n_long
    rng.shuffle(plan)
    return plan


def add_exclamations(rng, rows, share=0.1):
    """Turn one full stop into '!' in a random share of reviews, whatever their label."""
    for r in rows:
        spots = [m.start() + 1 for m in re.finditer(r"[a-z]\.( |$)", r["text"])]
        if spots and rng.random() < share:
            i = rng.choice(spots)
            r["text"] = r["text"][:i] + "!" + r["text"][i + 1:]


def balance_exclamations(rng, rows):
    """Make '!' equally common in positive and negative reviews so it is no label cue."""
    def rate(lbl):
        sub = [r for r in rows if r["label"] == lbl]
        return sum("!" in r["text"] for r in sub) / len(sub)
    lower = 0 if rate(0) < rate(1) else 1
    cands = [r for r in rows if r["label"] == lower and "!" not in r["text"]
             and re.search(r"[a-z]\.( |$)", r["text"])]
    rng.shuffle(cands)
    for r in cands:
        if rate(lower) >= rate(1 - lower):
            break
        spots = [m.start() + 1 for m in re.finditer(r"[a-z]\.( |$)", r["text"])]
        i = rng.choice(spots)
        r["text"] = r["text"][:i] + "!" + r["text"][i + 1:]


def read_handwritten(seen, path=HANDWRITTEN_CSV, domains=None):
    """Rows of a written file (handwritten.csv, snippets.csv), in file order, checked for valid fields and
    duplicates (updates seen)."""
    domains = domains or DOMAIN_SIZES
    name = os.path.basename(path)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        rows = [{"domain": r["domain"], "group": family(r["text"]), "text": r["text"], "label": int(r["label"])}
                for r in csv.DictReader(fh)]
    for r in rows:
        if r["domain"] not in domains or r["label"] not in (0, 1):
            raise ValueError(f"bad domain or label in {name}: {r!r}")
        key = norm_key(r["text"])
        if not key or key in seen or "\n" in r["text"] or "\r" in r["text"]:
            raise ValueError(f"empty, duplicate or multi-line review in {name}: " + r["text"][:60])
        seen.add(key)
    return rows


def build():
    rng = random.Random(SEED)
    common = Pools(os.path.join(POOL_DIR, "common.txt"))
    comp = Composer(rng, common)
    seen = set()
    rows = []
    device_counts = collections.Counter()
    for domain, size in DOMAIN_SIZES.items():
        dom = Pools(os.path.join(POOL_DIR, domain + ".txt"), DOMAIN_KIND[domain])
        for label in (1, 0):
            plan = bucket_plan(domain, size // 2, rng)
            groups = [i % GROUPS for i in range(len(plan))]
            rng.shuffle(groups)
            for bucket, group in zip(plan, groups, strict=True):
                for _attempt in range(100):
                    text, devices = comp.compose(domain, dom, label, bucket, group)
                    if rng.random() < INFORMAL_RATE:
                        text = informalize(rng, text, label)
                        devices = devices | {"informal"}
                    key = norm_key(text)
                    if key and key not in seen:
                        break
                else:
                    raise RuntimeError("too many duplicates in " + domain)
                seen.add(key)
                device_counts.update(devices)
                rows.append({"domain": domain, "group": group, "text": text, "label": label})
    add_exclamations(rng, rows)
    balance_exclamations(rng, rows)
    rng.shuffle(rows)
    rows += read_handwritten(seen)
    rows += read_handwritten(seen, SNIPPETS_CSV, SNIPPET_DOMAINS)
    rows += read_handwritten(seen, CRITICS_CSV, {"films"})
    with open(OUT_CSV, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "domain", "group", "text", "label"])
        for i, r in enumerate(rows, 1):
            w.writerow([i, r["domain"], r["group"], r["text"], r["label"]])
    return device_counts


# --------------------------------------------------------------------------- checks / statistics

POS_WORDS = set("""good great love loved lovely excellent amazing brilliant perfect perfectly best happy
pleased impressed recommend recommended worth fantastic wonderful superb solid comfy comfortable
enjoyed enjoy gorgeous beautiful fast friendly delicious reliable clean helpful fun gem keeper
stunning favourite nice glad""".split())
NEG_WORDS = set("""bad awful terrible worst poor rubbish garbage waste broke broken useless disappointing
disappointed disappointment hate hated cheap flimsy slow rude dirty cold noisy boring avoid refund
regret dreadful annoying frustrating laggy junk mess problem problems issue issues fault faulty
crashes crashed lost late wrong painful overpriced mediocre bland""".split())
NEGATORS = re.compile(r"\b(not|no|never|nothing|none|nobody|hardly|can't|cannot|couldn't|won't|wouldn't|"
                      r"don't|didn't|doesn't|isn't|wasn't|aren't|haven't|hasn't)\b")
CONTRAST = re.compile(r"\b(but|however|although|though|yet|whereas|that said|still,|even so|despite|"
                      r"on the other hand|admittedly|in fairness|to be fair|granted)\b")
SARCASM = re.compile(r"(oh great|oh good|oh joy|just what i needed|thanks for nothing|love how|love that for me|"
                     r"said nobody|\bnot\.|bravo|what a treat|how thoughtful|impressive stuff|stellar, just|"
                     r"surprise, surprise|who doesn't love|clearly money well spent|truly a (marvel|masterpiece)|"
                     r"wow,|great job|congratulations|slow clap|genius|how lovely|because nothing says|"
                     r"nothing says|what more could|fantastic[.,]|brilliant,|ah yes|"
                     r"if you enjoy|cutting-edge|yeah, that|sure, why not|top marks for)")
RATING = re.compile(r"(\b(zero|half a|one|two|three|four|five|six)\b[\w ]{0,12}\bstars?\b|\bfull marks\b|top marks|"
                    r"\bout of (five|ten|5|10)\b|\b\d+(\.\d)?/(5|10)\b|"
                    r"\b(a|an) (seven|eight|nine|ten|two|three|four)\b)")
COMPARE = re.compile(r"(better than|worse than|compared (to|with)|than (my|the|our|any|a|his|her) (old|last|previous|"
                     r"other|original|first|free|big)|\bunlike\b|switched from|\bbeats\b|no match for|step (up|down)"
                     r"|should have stuck with|on par with|than the (book|original|trailer|first)|"
                     r"outperforms|miles (better|ahead)|\bthan\b [^.]{0,30}\b(used to|ever|before)\b)")
SLANG = re.compile(r"\b(u|ur|rly|tbh|ngl|lol|smh|fr|imo|gonna|wanna|kinda|dunno|tho|cuz|alot|definately|"
                   r"recieved|untill|teh|wierd|seperate|somethin|ppl|pls|b4|tonite|aint|sooo|lowkey|mid|"
                   r"slaps|meh|ugh|af|omg|srsly|legit|nah|yep|yeah|sus|vibes|ok)\b")
ALLCAPS = re.compile(r"\b[A-Z]{3,}\b")
CAPS_OK = {"GPS", "USB", "HDMI", "LED", "TV", "SPF", "ATM", "UK", "USA", "NPC", "NPCs", "DLC", "RPG", "CGI",
           "FAQ", "OLED", "BBQ", "VPN", "DIY", "PIN", "SMS", "CEO", "OK", "TBH", "PDF", "RAM", "FPS", "XP",
           "MMO", "PVP", "AOE", "AAA", "DVD", "SIM", "HQ", "NYC", "WIFI"}
TOKEN = re.compile(r"[a-z0-9']+")
# Words real reviewers turn, concede and conclude with; `--check` counts each per label. One that appears in
# one label only can teach a model a shortcut ("however" -> negative) that real reviews break. A diagnostic,
# not a target: 480 written reviews that balanced them all lowered accuracy on real sets (README, limits).
TURN_MARKERS = {
    "however": r"\bhowever\b", "although": r"\balthough\b",
    "nevertheless / nonetheless / even so": r"\b(nevertheless|nonetheless|even so)\b",
    "that said / having said that": r"\b(that said|having said that)\b",
    "on the other hand / whereas": r"\b(on the other hand|whereas)\b",
    "all in all / in the end / ultimately / in short / overall":
        r"\b(all in all|in the end|ultimately|in short|overall)\b",
    "despite / in spite of": r"\b(despite|in spite of)\b", "not for everyone": r"\bnot for everyone\b",
    "my only complaint / the only problem": r"\b(my only complaint|the only problem|the only downside|my one gripe)\b",
    "unfortunately / sadly": r"\b(unfortunately|sadly)\b",
    "luckily / fortunately": r"\b(luckily|fortunately|thankfully)\b",
    "surprisingly": r"\bsurprisingly\b", "honestly / frankly": r"\b(honestly|frankly)\b",
    "I wanted to like / I really wanted": r"\b(i wanted to like|i really wanted)\b",
    "I have to say / I must say": r"\b(i have to say|i must say)\b", "I guess / I suppose": r"\b(i guess|i suppose)\b",
    "at least": r"\bat least\b", "if you like / if you're a fan": r"\b(if you like|if you love|if you're a fan)\b",
    "don't get me wrong": r"\bdon't get me wrong\b", "not bad / not great": r"\b(not bad|not great|not the best)\b",
    "could / should / would have been": r"\b(could|should|would) have been\b",
    "to be fair / granted": r"\b(to be fair|granted)\b",
}


def tokens(text):
    return TOKEN.findall(text.lower())


def negated_sentiment(text):
    toks = tokens(text)
    for i, t in enumerate(toks):
        if NEGATORS.fullmatch(t):
            window = toks[i + 1:i + 4]
            if any(w in POS_WORDS or w in NEG_WORDS or w in ("fault", "complain", "complaint", "complaints",
                                                             "regret", "regrets", "disappoint", "like",
                                                             "expect", "recommend", "call", "bother")
                   for w in window):
                return True
    return False


def phenomena(text):
    low = text.lower()
    toks = tokens(text)
    caps = [w for w in ALLCAPS.findall(text) if w not in CAPS_OK]
    informal = bool(SLANG.search(low)) or bool(caps) or (text == low and any(c.isalpha() for c in text))
    has_pos = any(t in POS_WORDS for t in toks)
    has_neg = any(t in NEG_WORDS for t in toks)
    return {
        "negation (negator within 3 words before a sentiment word)": negated_sentiment(text),
        "contrast marker (but/however/though/yet/still,/that said...)": bool(CONTRAST.search(low)),
        "sarcasm marker phrase": bool(SARCASM.search(low)),
        "mixed polarity words (>=1 positive and >=1 negative lexicon word)": has_pos and has_neg,
        "informal: slang/typo list, ALL-CAPS word, or all lower case": informal,
        "short fragment (<= 5 words)": len(text.split()) <= 5,
        "rating in words or numbers (stars, out of ten, 8/10)": bool(RATING.search(low)),
        "comparison (better than, switched from, compared to...)": bool(COMPARE.search(low)),
    }


def top_items(counter, n):
    """Most frequent items; ties broken alphabetically so the report is reproducible."""
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentences(text, min_words=4):
    """The review's sentences of at least ``min_words`` words, as duplicate keys."""
    return {norm_key(s) for s in SENTENCE_END.split(text) if words(s) >= min_words}


def leaked(train, test):
    """How many ``test`` rows share a sentence of four or more words verbatim with a ``train`` row."""
    seen = set().union(*(sentences(r["text"]) for r in train))
    return sum(bool(sentences(r["text"]) & seen) for r in test)


def leak_report(rows):
    """Shared sentences under a random 80/20 split of reviews and under a split that keeps groups whole."""
    shuffled = list(rows)
    random.Random(SEED).shuffle(shuffled)
    cut = len(shuffled) * 8 // 10
    lines = [f"test reviews sharing a sentence of 4+ words with a training review: "
             f"random 80/20 split of reviews: {leaked(shuffled[:cut], shuffled[cut:])} of {len(rows) - cut}"]
    worst = 0
    for group in range(GROUPS):
        test = [r for r in rows if int(r["group"]) == group]
        worst = max(worst, leaked([r for r in rows if int(r["group"]) != group], test))
    lines.append(f"  each group held out in turn, the rest for training: at most {worst} per group "
                 f"(groups of ~{len(rows) // GROUPS} reviews)")
    return lines


def stats(path=OUT_CSV, device_counts=None):
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    n = len(rows)
    out = []
    p = out.append
    assert [int(r["id"]) for r in rows] == list(range(1, n + 1)), "ids must be 1..N"
    assert all(r["text"].strip() and "\n" not in r["text"] and "\r" not in r["text"] for r in rows)
    keys = [norm_key(r["text"]) for r in rows]
    dup = n - len(set(keys))
    pos = sum(r["label"] == "1" for r in rows)
    p(f"rows: {n}  positive: {pos} ({100 * pos / n:.2f}%)  negative: {n - pos}  "
      f"duplicates (case/space/punctuation-insensitive): {dup}")
    p("")
    p("| domain | reviews | share | positive | negative | median words |")
    p("|---|---:|---:|---:|---:|---:|")
    by = collections.defaultdict(list)
    for r in rows:
        by[r["domain"]].append(r)
    for d in sorted(by, key=lambda d: (-len(by[d]), d)):
        rs = by[d]
        pp = sum(r["label"] == "1" for r in rs)
        lens = sorted(len(r["text"].split()) for r in rs)
        p(f"| {d} | {len(rs)} | {100 * len(rs) / n:.1f}% | {pp} | {len(rs) - pp} | {lens[len(lens) // 2]} |")
    p("")
    lens = [len(r["text"].split()) for r in rows]
    b = collections.Counter("<15" if L < 15 else "15-60" if L <= 60 else "61-200" if L <= 200 else ">200"
                            for L in lens)
    p("| length (words) | reviews | share |")
    p("|---|---:|---:|")
    for k in ("<15", "15-60", "61-200", ">200"):
        p(f"| {k} | {b[k]} | {100 * b[k] / n:.1f}% |")
    sl = sorted(lens)
    p("")
    p(f"words: min {sl[0]}, median {sl[n // 2]}, mean {sum(sl) / n:.1f}, max {sl[-1]}")
    for lbl, name in (("1", "positive"), ("0", "negative")):
        ls = [len(r["text"].split()) for r in rows if r["label"] == lbl]
        ex = sum("!" in r["text"] for r in rows if r["label"] == lbl)
        p(f"{name}: mean {sum(ls) / len(ls):.1f} words, {100 * ex / len(ls):.1f}% contain '!'")
    fl = [len(r["text"].split()) for r in rows if r["domain"] == "films"]
    p(f"films with 80-200 words: {sum(80 <= L <= 200 for L in fl)} of {len(fl)}")
    p("")
    for line in leak_report(rows):
        p(line)
    # n-gram diversity
    six = collections.Counter()
    open3 = collections.Counter()
    for r in rows:
        t = tokens(r["text"])
        six.update(set(tuple(t[i:i + 6]) for i in range(len(t) - 5)))
        if len(t) >= 3:
            open3[" ".join(t[:3])] += 1
    g, c = top_items(six, 1)[0]
    o, oc = top_items(open3, 1)[0]
    p("")
    p(f"most frequent 6-gram: '{' '.join(g)}' in {c} reviews ({100 * c / n:.2f}%)")
    p(f"most frequent opening 3 words: '{o}' in {oc} reviews ({100 * oc / n:.2f}%)")
    p(f"distinct opening 3-word sequences: {len(open3)}")
    p("")
    p("| phenomenon (text heuristic) | reviews | share | of which positive |")
    p("|---|---:|---:|---:|")
    ph = collections.Counter()
    php = collections.Counter()
    for r in rows:
        for k, v in phenomena(r["text"]).items():
            if v:
                ph[k] += 1
                php[k] += r["label"] == "1"
    for k in phenomena("x"):
        p(f"| {k} | {ph[k]} | {100 * ph[k] / n:.1f}% | {php[k]} |")
    p("")
    p("| turn marker (case-insensitive) | positive reviews | negative reviews |")
    p("|---|---:|---:|")
    for name, pattern in TURN_MARKERS.items():
        hits = [r["label"] for r in rows if re.search(pattern, r["text"], re.I)]
        p(f"| {name} | {hits.count('1')} | {hits.count('0')} |")
    if device_counts:
        p("")
        p("| device inserted by the generator | reviews | share |")
        p("|---|---:|---:|")
        for k in ("contrast", "mixed", "sarcasm", "negation", "turn", "comparison", "rating", "informal"):
            p(f"| {k} | {device_counts[k]} | {100 * device_counts[k] / n:.1f}% |")
    return "\n".join(out), six, open3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only print statistics of the existing CSV")
    ap.add_argument("--top", type=int, default=0, help="also list the N most frequent 6-grams and openings")
    args = ap.parse_args()
    devices = None if args.check else build()
    report, six, open3 = stats(device_counts=devices)
    print(report)
    if args.top:
        print("\ntop 6-grams:")
        for g, c in top_items(six, args.top):
            print(f"  {c:3d}  {' '.join(g)}")
        print("top openings:")
        for o, c in top_items(open3, args.top):
            print(f"  {c:3d}  {o}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
