#!/usr/bin/env python3
"""Extract gitleaks' own rule test cases into a table dozen's tests read.

gitleaks (MIT licence, https://github.com/gitleaks/gitleaks) checks each of its rules against
true and false positives written in `cmd/generate/config/rules/*.go`: some written out, most
generated from a regular expression (`secrets.NewSecret`) and set in ~30 assignment contexts
(`utils.GenerateSampleSecrets`). This script reads those Go files without Go: it evaluates the
small part of Go the rule functions use (string literals, `+`, `[]string{...}`, `append`,
`fmt.Sprintf`, the `utils` helpers, `secrets.NewSecret`) and generates each secret from its
regular expression the way gitleaks' generator does (a bounded repeat takes a length in its
range, an unbounded one its minimum or one more), with a fixed seed per rule so the table is
stable. A rule whose cases use anything else is listed as skipped, never half-read.

    python3 tests/gitleaks/extract.py /path/to/gitleaks > tests/gitleaks/cases.tsv
    python3 tests/gitleaks/extract.py --contexts /path/to/gitleaks > tests/gitleaks/contexts.tsv

Output: one case per line, `rule<TAB>tp|fp<TAB>JSON string`, sorted; with `--contexts`, the
assignment contexts themselves, `name<TAB>JSON template` with gitleaks' `{i}`, `{I}`, `{s}`.
"""

import base64
import json
import random
import re
import sys
from pathlib import Path

try:
    import re._parser as sre_parse  # Python 3.11+
    import re._constants as sre_constants
except ImportError:  # pragma: no cover
    import sre_parse
    import sre_constants


class Unknown(Exception):
    """A construct this reader does not evaluate."""


# ---------------------------------------------------------------- Go tokens

TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<raw>`[^`]*`)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<rune>'(?:[^'\\\n]|\\.)+')
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\.\.\.|:=|==|!=|<=|>=|&&|\|\||\+=|[-+*/%(){}\[\],.;:=<>!&|^])
    """,
    re.VERBOSE | re.DOTALL,
)


def tokens(source):
    out = []
    pos = 0
    while pos < len(source):
        m = TOKEN.match(source, pos)
        if not m:
            raise Unknown(f"cannot read Go at {source[pos:pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind in ("space", "comment"):
            if kind == "space" and "\n" in m.group():
                out.append(("nl", "\n"))
            continue
        out.append((kind, m.group()))
    return out


def go_string(kind, text):
    if kind == "raw":
        return text[1:-1].replace("\r", "")
    return json_unquote(text)


def json_unquote(text):
    body = text[1:-1]
    out = []
    i = 0
    simple = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'",
              "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        if e in simple:
            out.append(simple[e])
            i += 2
        elif e == "x":
            out.append(chr(int(body[i + 2:i + 4], 16)))
            i += 4
        elif e == "u":
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        else:
            raise Unknown(f"escape \\{e}")
    return "".join(out)


# ---------------------------------------------------------------- secrets from regexes

CATEGORIES = {
    sre_constants.CATEGORY_DIGIT: "0123456789",
    sre_constants.CATEGORY_WORD: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
    sre_constants.CATEGORY_SPACE: " ",
}
PRINTABLE = [chr(c) for c in range(0x21, 0x7F)]


def generate(pattern, rng):
    # Go's syntax: `\z` is Python's `\Z`; `(?P<name>` is shared.
    pattern = pattern.replace(r"\z", r"\Z")
    return emit(sre_parse.parse(pattern), rng)


def charset(items):
    chars = set()
    negate = False
    for op, av in items:
        if op == sre_constants.NEGATE:
            negate = True
        elif op == sre_constants.LITERAL:
            chars.add(chr(av))
        elif op == sre_constants.RANGE:
            chars.update(chr(c) for c in range(av[0], av[1] + 1))
        elif op == sre_constants.CATEGORY:
            if av not in CATEGORIES:
                raise Unknown(f"category {av}")
            chars.update(CATEGORIES[av])
        else:
            raise Unknown(f"class item {op}")
    if negate:
        chars = set(PRINTABLE) - chars
    return sorted(chars)


def emit(parsed, rng):
    out = []
    for op, av in parsed:
        if op == sre_constants.LITERAL:
            out.append(chr(av))
        elif op == sre_constants.NOT_LITERAL:
            out.append(rng.choice([c for c in PRINTABLE if c != chr(av)]))
        elif op == sre_constants.ANY:
            out.append(rng.choice(PRINTABLE))
        elif op == sre_constants.IN:
            out.append(rng.choice(charset(av)))
        elif op == sre_constants.CATEGORY:
            out.append(rng.choice(CATEGORIES[av]))
        elif op == sre_constants.BRANCH:
            out.append(emit(rng.choice(av[1]), rng))
        elif op == sre_constants.SUBPATTERN:
            out.append(emit(av[-1], rng))
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT):
            low, high, item = av
            if high == sre_constants.MAXREPEAT:
                high = low + 1
            for _ in range(rng.randint(low, high)):
                out.append(emit(item, rng))
        elif op == sre_constants.AT:
            pass
        else:
            raise Unknown(f"regex op {op}")
    return "".join(out)


# ---------------------------------------------------------------- a little Go

SAMPLES = None  # filled from utils/generate.go
STOP_WORDS = []  # filled from rules/stopwords.go


def sample_secrets(identifier, secret):
    return [
        s.replace("{i}", identifier).replace("{I}", identifier.upper()).replace("{s}", secret)
        for s in SAMPLES
    ]


def read_samples(generate_go):
    """The assignment contexts of `GenerateSampleSecrets`, read from gitleaks' own file."""
    text = generate_go.read_text()
    start = text.index("samples := map[string]string{")
    end = text.index("\n\t}\n", start)
    toks = tokens(text[start:end])
    values = []
    i = 0
    while i < len(toks):
        kind, value = toks[i]
        if kind in ("str", "raw") and i + 2 < len(toks) and toks[i + 1] == ("op", ":"):
            vkind, vtext = toks[i + 2]
            values.append(go_string(vkind, vtext))
            i += 3
        else:
            i += 1
    return values


def go_sprintf(fmt, args):
    out = []
    i = 0
    args = list(args)
    while i < len(fmt):
        if fmt[i] == "%":
            verb = fmt[i + 1]
            if verb == "%":
                out.append("%")
            elif verb in "sdv":
                out.append(str(args.pop(0)))
            else:
                raise Unknown(f"Sprintf verb %{verb}")
            i += 2
        else:
            out.append(fmt[i])
            i += 1
    return "".join(out)


class Evaluator:
    def __init__(self, toks, rng):
        self.toks = toks
        self.pos = 0
        self.rng = rng
        self.vars = {}

    def peek(self, offset=0):
        i = self.pos
        skipped = 0
        while i < len(self.toks):
            if self.toks[i][0] != "nl":
                if skipped == offset:
                    return self.toks[i]
                skipped += 1
            i += 1
        return ("eof", "")

    def next(self):
        while self.toks[self.pos][0] == "nl":
            self.pos += 1
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def expect(self, value):
        tok = self.next()
        if tok[1] != value:
            raise Unknown(f"expected {value!r}, found {tok[1]!r}")

    def expr(self):
        value = self.term()
        while self.peek()[1] == "+":
            self.next()
            right = self.term()
            if not (isinstance(value, str) and isinstance(right, str)):
                raise Unknown("+ of non-strings")
            value = value + right
        return value

    def args(self):
        self.expect("(")
        values = []
        spread = False
        while self.peek()[1] != ")":
            values.append(self.expr())
            if self.peek()[1] == "...":
                self.next()
                spread = True
            if self.peek()[1] == ",":
                self.next()
        self.expect(")")
        return values, spread

    def term(self):
        kind, text = self.next()
        if kind in ("str", "raw"):
            return go_string(kind, text)
        if text == "(":
            value = self.expr()
            self.expect(")")
            return value
        if text == "[" and self.peek()[1] == "]":
            self.next()
            kind2, elem = self.next()
            if elem == "byte" and self.peek()[1] == "(":
                self.next()
                value = self.expr()
                self.expect(")")
                return value
            if elem != "string":
                raise Unknown(f"[]{elem}")
            self.expect("{")
            items = []
            while self.peek()[1] != "}":
                items.append(self.expr())
                if self.peek()[1] == ",":
                    self.next()
            self.expect("}")
            if not all(isinstance(i, str) for i in items):
                raise Unknown("[]string of non-strings")
            return items
        if kind == "ident":
            name = text
            while self.peek()[1] == "." and self.peek(1)[0] == "ident":
                self.next()
                name += "." + self.next()[1]
            if name == "nil":
                return []
            if self.peek()[1] == "(":
                args, spread = self.args()
                return self.call(name, args, spread)
            if name in self.vars:
                return self.vars[name]
            raise Unknown(f"name {name}")
        raise Unknown(f"term {text!r}")

    def call(self, name, args, spread):
        strings = all(isinstance(a, str) for a in args)
        if name == "append":
            base, rest = args[0], args[1:]
            if not isinstance(base, list):
                raise Unknown("append to non-list")
            out = list(base)
            for item in rest:
                out.extend(item if isinstance(item, list) else [item])
            return out
        if not strings:
            raise Unknown(f"{name} of non-strings")
        helpers = {
            "utils.Numeric": lambda n: f"[0-9]{{{n}}}",
            "utils.Hex": lambda n: f"[a-f0-9]{{{n}}}",
            "utils.AlphaNumeric": lambda n: f"[a-z0-9]{{{n}}}",
            "utils.AlphaNumericExtendedShort": lambda n: f"[a-z0-9_-]{{{n}}}",
            "utils.AlphaNumericExtended": lambda n: f"[a-z0-9=_\\-]{{{n}}}",
            "utils.AlphaNumericExtendedLong": lambda n: f"[a-z0-9\\/=_\\+\\-]{{{n}}}",
            "utils.Hex8_4_4_4_12": lambda: "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "secrets.NewSecret": lambda r: generate(r, self.rng),
            "utils.GenerateSampleSecrets": sample_secrets,
            "utils.GenerateSampleSecret": lambda i, s: f'{i}_api_token = "{s}"',
            "fmt.Sprintf": lambda f, *a: go_sprintf(f, a),
            "base64.StdEncoding.EncodeToString": lambda v: base64.b64encode(v.encode()).decode(),
            "newPlausibleSecret": self.plausible,
        }
        if name == "strings.Repeat":
            raise Unknown("strings.Repeat with a count")
        if name not in helpers:
            raise Unknown(f"call {name}")
        return helpers[name](*args)

    def plausible(self, regex):
        """gitleaks' generic rule retries until the secret has a digit and no stop word."""
        while True:
            secret = generate(regex, self.rng)
            lower = secret.lower()
            if re.search("[1-9]", secret) and not any(w in lower for w in STOP_WORDS):
                return secret

    def skip_statement(self):
        depth = 0
        while self.pos < len(self.toks):
            kind, text = self.toks[self.pos]
            self.pos += 1
            if text in "({[":
                depth += 1
            elif text in ")}]":
                depth -= 1
            elif kind == "nl" and depth == 0:
                return

    def body(self):
        """Runs the statements; returns (tps, fps) from `return utils.Validate(r, tps, fps)`."""
        while self.pos < len(self.toks):
            kind, text = self.peek()
            if kind == "eof":
                break
            if text == "return" and self.peek(1)[1] == "utils.Validate" or (
                text == "return" and self.peek(1)[1] == "utils" and self.peek(3)[1] == "Validate"
            ):
                self.next()
                self.next()
                if self.peek()[1] == ".":
                    self.next()
                    self.next()
                args, _ = self.args_raw()
                return args
            if text == "var" and self.peek(1)[1] == "(":
                self.next()
                self.next()
                while self.peek()[1] != ")":
                    self.assignment()
                self.next()
                continue
            if kind == "ident" and self.peek(1)[1] in (":=", "="):
                self.assignment()
                continue
            self.skip_statement()
        raise Unknown("no utils.Validate")

    def assignment(self):
        name = self.next()[1]
        self.next()
        start = self.pos
        try:
            self.vars[name] = self.expr()
        except Unknown as error:
            self.pos = start
            self.skip_statement()
            self.vars[name] = UnknownValue(str(error))

    def args_raw(self):
        self.expect("(")
        names = []
        while self.peek()[1] != ")":
            kind, text = self.next()
            names.append(text)
            if self.peek()[1] == ",":
                self.next()
        self.expect(")")
        if len(names) != 3:
            raise Unknown("Validate with paths")
        values = []
        for name in names[1:]:
            if name == "nil":
                values.append([])
                continue
            value = self.vars.get(name)
            if isinstance(value, UnknownValue):
                raise Unknown(f"{name}: {value.why}")
            if not isinstance(value, list):
                raise Unknown(f"{name} is not a list")
            values.append(value)
        return values, False


class UnknownValue:
    def __init__(self, why):
        self.why = why


FUNC = re.compile(r"^func (\w+)\(\) \*config\.Rule \{$", re.M)
RULE_ID = re.compile(r'RuleID:\s*"([^"]+)"')


def rule_functions(source):
    for m in FUNC.finditer(source):
        start = m.end()
        depth = 1
        i = start
        # Brace matching on tokens, so braces in strings do not count.
        toks = tokens(source[start:source.index("\n}\n", start) + 2])
        yield m.group(1), source[start:source.index("\n}\n", start)], toks


def contexts(root):
    text = (root / "utils/generate.go").read_text()
    start = text.index("samples := map[string]string{")
    end = text.index("\n\t}\n", start)
    toks = [t for t in tokens(text[start:end]) if t[0] != "nl"]
    for i in range(len(toks) - 2):
        if toks[i][0] in ("str", "raw") and toks[i + 1] == ("op", ":"):
            name = go_string(*toks[i])
            print(f"{name}\t{json.dumps(go_string(*toks[i + 2]))}")


def main():
    global SAMPLES  # noqa: PLW0603
    if sys.argv[1] == "--contexts":
        contexts(Path(sys.argv[2]) / "cmd/generate/config")
        return
    root = Path(sys.argv[1]) / "cmd/generate/config"
    SAMPLES = read_samples(root / "utils/generate.go")
    STOP_WORDS.extend(
        go_string(kind, text)
        for kind, text in tokens((root / "rules/stopwords.go").read_text())
        if kind in ("str", "raw")
    )
    rows = []
    skipped = []
    for path in sorted((root / "rules").glob("*.go")):
        source = path.read_text()
        for func, text, toks in rule_functions(source):
            ids = RULE_ID.findall(text)
            if len(ids) != 1:
                skipped.append((path.name, func, "no single literal RuleID"))
                continue
            rule = ids[0]
            rng = random.Random(rule)
            try:
                tps, fps = Evaluator(toks, rng).body()
            except (Unknown, IndexError, ValueError) as error:
                skipped.append((path.name, rule, str(error)))
                continue
            rows += [(rule, "tp", t) for t in tps] + [(rule, "fp", f) for f in fps]
    for rule, kind, text in sorted(set(rows)):
        print(f"{rule}\t{kind}\t{json.dumps(text)}")
    for name, rule, why in skipped:
        print(f"skipped {name} {rule}: {why}", file=sys.stderr)


if __name__ == "__main__":
    main()
