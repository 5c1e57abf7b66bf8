#!/usr/bin/env python3
"""Lists the C++ functions longer than a limit (60 lines by default), longest first.

    scripts/long_functions.py [--max N] [--check] [PATH ...]      (default paths: engine nodes cli python)

A function's length is counted from the first line of its declaration (template line included)
to its closing brace, inclusive. The scan counts braces after removing comments, string and
character literals and preprocessor lines; lambdas and local classes count as part of the
function that holds them, and a lambda initialising a namespace-scope variable is a function of
its own. Braced initialisers of data (`kTable[] = {...}`) are not functions. --check exits 1 when
any function is over the limit (for CI); without it the script only reports.
"""
import argparse
import os
import re
import sys

SOURCE_SUFFIXES = (".cpp", ".hpp", ".cc", ".h", ".hpp.in", ".cpp.in")
SCOPE_KEYWORDS = re.compile(r"\b(namespace|class|struct|union|enum)\b")
IDENT_BEFORE = re.compile(r"[A-Za-z0-9_>]\s*$")
BODY_QUALIFIER = re.compile(r"\b(const|override|final|noexcept|mutable|try|volatile)\s*$|\)\s*$|&\s*$")


def strip_code(text):
    """Returns text with comments, literals and preprocessor lines blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c == "#":
            # a preprocessor line, with its continuations
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append("\n")
                    i += 2
                    continue
                i += 1
            continue
        if c == "\n":
            out.append(c)
            at_line_start = True
            i += 1
            continue
        if c in " \t":
            out.append(c)
            i += 1
            continue
        at_line_start = False
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:end]))
            i = end
            continue
        raw = re.match(r'(?:u8|u|U|L)?R"([^()\\ ]{0,16})\(', text[i:i + 24])
        if raw and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            close = ")" + raw.group(1) + '"'
            end = text.find(close, i + raw.end())
            end = n if end < 0 else end + len(close)
            out.append('""' + "".join("\n" for ch in text[i:end] if ch == "\n"))
            i = end
            continue
        if c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator 1'000
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def header_name(header):
    """The function's name as written before its parameter list (or the variable of a lambda)."""
    flat = " ".join(header.split())
    lam = re.search(r"([A-Za-z_][\w:]*)\s*(?:\[[^\]]*\])?\s*=\s*\[", flat)
    if lam and "(" not in flat[: lam.start()]:
        return lam.group(1)
    depth, i = 0, 0
    for i, ch in enumerate(flat):
        if ch == "(" and depth == 0:
            name = re.search(r"((?:[\w~]+(?:<[^()]*>)?::)*(?:operator\s*\S+?|[~\w]+))\s*$", flat[:i])
            if name:
                return name.group(1)
        depth += ch == "<"
        depth -= ch == ">" and depth > 0
    return flat[:40]


def depth0(header, chars):
    """True when one of chars occurs in header outside parentheses, brackets and braces."""
    depth = 0
    for ch in header:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and ch in chars:
            return True
    return False


def classify(header):
    """'scope' (namespace, class...), 'function', 'lambda' or 'data' for the text before a {."""
    flat = " ".join(header.split())
    no_ops = re.sub(r"operator\s*(==|!=|<=|>=|=|\(\)|\[\])", "operator", flat)
    if re.search(r"=\s*\[[^\]]*\]\s*(\([^)]*\))?[^=]*$", no_ops) and depth0(no_ops, "="):
        return "lambda"
    if depth0(no_ops, "="):
        return "data"
    if not flat or flat.startswith("extern"):
        return "scope"
    outside = re.sub(r"\([^()]*\)", "()", re.sub(r"<[^<>]*>", "<>", flat))
    if SCOPE_KEYWORDS.search(outside) and "(" not in outside.split("{")[0].split(":")[0]:
        return "scope"
    if "(" in flat and BODY_QUALIFIER.search(flat) or re.search(r"->\s*[\w:<>,\s*&]+$", flat):
        return "function"
    if "(" in flat and re.search(r"\)\s*:", flat):  # constructor after its initialiser list
        return "function"
    return "data"


def scan(path, text):
    """Yields (lines, first_line, name) for every function body in text."""
    code = strip_code(text)
    scopes = []  # each entry: 'scope' or ('function', start_line, name) or 'data'
    header_start = 0
    i, n = 0, len(code)
    line_of = [0] * (n + 1)
    line = 1
    for k, ch in enumerate(code):
        line_of[k] = line
        if ch == "\n":
            line += 1
    line_of[n] = line
    in_function = 0
    while i < n:
        ch = code[i]
        if in_function:
            if ch == "{":
                in_function += 1
            elif ch == "}":
                in_function -= 1
                if in_function == 0:
                    _, start, name = scopes.pop()
                    yield line_of[i] - start + 1, start, name
                    header_start = i + 1
            i += 1
            continue
        if ch == ";" or ch == "}":
            if ch == "}" and scopes:
                scopes.pop()
            header_start = i + 1
        elif ch == "{":
            header = code[header_start:i]
            kind = classify(header)
            ctor_init = re.search(r"\)\s*:[^:]", header) and IDENT_BEFORE.search(header) \
                and not BODY_QUALIFIER.search(header)
            if ctor_init and kind != "scope":
                # a member's braced initialiser inside a constructor's list: skip to its }
                depth = 1
                i += 1
                while i < n and depth:
                    depth += code[i] == "{"
                    depth -= code[i] == "}"
                    i += 1
                continue
            if kind in ("function", "lambda"):
                stripped = len(header) - len(header.lstrip())
                start = line_of[header_start + stripped]
                scopes.append(("function", start, header_name(header)))
                in_function = 1
            elif kind == "data":
                depth = 1
                i += 1
                while i < n and depth:
                    depth += code[i] == "{"
                    depth -= code[i] == "}"
                    i += 1
                header_start = i
                continue
            else:
                scopes.append("scope")
                header_start = i + 1
        elif ch == ":" and code[i - 1 : i + 1] != "::" and code[i : i + 2] != "::":
            # access specifiers (public:) end a header
            if re.search(r"\b(public|private|protected)\s*$", code[header_start:i]):
                header_start = i + 1
        i += 1


def source_files(paths):
    for root in paths:
        if os.path.isfile(root):
            yield root
            continue
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(SOURCE_SUFFIXES):
                    yield os.path.join(folder, name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["engine", "nodes", "cli", "python"])
    parser.add_argument("--max", type=int, default=60, help="longest allowed function, in lines")
    parser.add_argument("--check", action="store_true", help="exit 1 when a function is longer")
    args = parser.parse_args()
    found, total = [], 0
    for path in source_files(args.paths):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for lines, start, name in scan(path, text):
            total += 1
            if lines > args.max:
                found.append((lines, path, start, name))
    for lines, path, start, name in sorted(found, key=lambda x: (-x[0], x[1], x[2])):
        print(f"{lines:4d}  {path}:{start}  {name}")
    print(f"{len(found)} of {total} functions over {args.max} lines in {' '.join(args.paths)}")
    return 1 if args.check and found else 0


if __name__ == "__main__":
    sys.exit(main())
