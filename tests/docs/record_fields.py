#!/usr/bin/env python3
"""docs.record_fields: the record's documentation, its JSON Schema and its
writer name the same fields.

Usage: record_fields.py --kexwatch BIN --source DIR [--shared DIR]

A field is named by its path: "ssh.tcp.rtt_ms"; the elements of an array of
objects add "[]": "ssh.tcp.icmp[].mtu". Below ssh.diagnoses[].evidence nothing
is compared (evidence differs per code; docs.diagnoses_examples and
golden.diagnoses cover it). Five lists are made:

  records  every path in the records kexwatch writes for every capture in
           tests/pcaps and tests/crafted, and in SHARED/conformance when that
           folder exists (captures found and run as schema.records does, which
           also validates the values of those records).
  writer   every path output/record.c can write, read from its source (so a
           field that no capture exercises is checked too), and the paths of
           the statistics record output/output.c builds; see the writer parse
           below.
  schema   every path docs/schema/ssh-record.schema.json defines ($ref, items
           and properties followed), for ssh records and stats records apart.
  record.md  the fields docs/record.md documents (see the record.md parse).
  operations.md  the statistics fields in its "Statistics records" table.

Asserted: records <= schema; writer <= schema <= writer + records (the
diagnoses' members are written by verdict/diagnose.c, so only the records
show them); schema == record.md (for ssh records) and schema ==
operations.md (for stats records). Every difference is printed, one line
each, with the list it is missing from.

Writer parse (output/record.c). Functions are the top-level "name(...)\\n{ ...
\\n}" blocks, comments removed. Walking from record_build(), in source order:
jw_obj_open / jw_arr_open (w, KEY) push KEY and the matching _close pops it (the _opt forms too);
jw_str, jw_int, jw_bool, jw_ms, jw_real, jw_wire, jw_raw, jw_json (w, KEY, ...) write
the field KEY (NULL: an array element or a spliced fragment, no field); a
call to another function of the file is followed with its parameters bound
to the call's arguments (side_object(rw, "client", d), timing_set(w, "kex_reply",
...)). KEY is a string literal; NULL (an array element: jw_obj_open(w, NULL)
inside an array adds "[]", elsewhere it is the outer brace of the record or
of a fragment spliced whole and adds nothing); a parameter; TABLE[i] where
TABLE is a string array initialised in the file; or f(...) where f is a
function of the source tree whose body returns from one string table
(kex_cat_name). Anything else is an error of this test, as are unbalanced
opens and closes, so the parse fails loudly rather than going stale.
output/output.c's report_stats() is read the same way for jansson:
V = json_object()/json_array() starts a node, the node given to json_dumps()
is the record and a function's "return V;" its value, json_object_set_new(V, KEY, X)
adds KEY (with X's members when X is a node or stats_object(...)), and
json_array_append_new(A, V) makes V's members A's "[]" members.

record.md parse. A "## " heading names the parent object(s) of the table
under it in backticks ("## `ssh.client` and `ssh.server`"), or is "Top level".
In each table row, the backticked names of the first column are fields of
that parent. When the schema says such a field is an object (or an array of
objects), the backticked names in its second column outside parentheses are
its members: "`ext_info` {`client`, `server`}" gives members of ext_info,
"`icmp` [{`type`, ...}]" members of icmp[]; braces before any name
enclose the row's own members. Text in parentheses (values,
explanations) is skipped, and so are backticked words that are not field
names (with a dot, a slash or a colon). operations.md's statistics table is
read the same way with the parent "stats"; a row may give a path
("`connections.open`", "`capture[].ps_recv`"), whose parents count as
documented. timestamp, event_type and stats themselves are the keys of the
section's JSON example.
"""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "schema"))
from validate import find_captures, run_records, shared_captures  # noqa: E402

EVIDENCE = "ssh.diagnoses[].evidence"
MULTI = "\0several"
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class ParseError(Exception):
    """The test could not read one of its sources the documented way."""


# ---------------------------------------------------------------- records

def record_paths(value, prefix, out):
    """Add every field path of a JSON value to out."""
    if isinstance(value, dict):
        for key, sub in value.items():
            path = prefix + "." + key if prefix else key
            out.add(path)
            if path != EVIDENCE:
                record_paths(sub, path, out)
    elif isinstance(value, list):
        for sub in value:
            record_paths(sub, prefix + "[]", out)


# ----------------------------------------------------------------- schema

def schema_node(schema, node):
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ParseError("schema: cannot follow $ref %s" % ref)
        node = schema
        for step in ref[2:].split("/"):
            node = node[step]
    return node


def schema_paths(schema, node, prefix, out, types):
    """Add every property path under node to out; types[path] = "object" for
    objects and arrays of objects (the paths whose members are listed)."""
    node = schema_node(schema, node)
    if node.get("type") == "array" and "items" in node:
        items = schema_node(schema, node["items"])
        if items.get("type") == "object":
            types[prefix] = "object"
            schema_paths(schema, items, prefix + "[]", out, types)
        return
    if node.get("type") == "object" or "properties" in node:
        types[prefix] = "object"
        if prefix == EVIDENCE:
            return
        for key, sub in node.get("properties", {}).items():
            path = prefix + "." + key if prefix else key
            out.add(path)
            schema_paths(schema, sub, path, out, types)


# ----------------------------------------------------------------- writer

def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def c_functions(text):
    """name -> (parameter names, body) for each top-level function."""
    funcs = {}
    for m in re.finditer(r"^[a-z][^\n;]*?\b(\w+)\(([^)]*)\)\n\{\n(.*?)^\}", text, re.M | re.S):
        params = [re.findall(r"\w+", p)[-1] for p in m.group(2).split(",")
                  if re.findall(r"\w+", p)]
        funcs[m.group(1)] = (params, m.group(3))
    return funcs


def string_tables(text):
    """name -> strings, for each `... name[...] = { "a", "b", ... };`"""
    tables = {}
    for m in re.finditer(r"\b(\w+)\[\w*\]\s*=\s*\{([^;]*?)\};", text, re.S):
        strings = re.findall(r'"([^"]*)"', m.group(2))
        if strings:
            tables[m.group(1)] = strings
    return tables


def split_args(text, start):
    """The arguments of the call whose '(' is at text[start], and the end."""
    depth, args, cur, i = 0, [], "", start
    while True:
        ch = text[i]
        if ch in "\"'":  # a string or character literal, escapes included
            lit = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'').match(text, i)
            cur += lit.group(0)
            i = lit.end()
            continue
        if ch == "(":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append(cur.strip())
                return args, i + 1
        elif ch == "," and depth == 1:
            args.append(cur.strip())
            cur = ""
            i += 1
            continue
        cur += ch
        i += 1


class Writer:
    """The paths a C writer can produce, by the parse in the module comment."""

    def __init__(self, source, path):
        self.source = source
        self.path = path
        with open(os.path.join(source, path)) as f:
            self.text = strip_comments(f.read())
        self.funcs = c_functions(self.text)
        self.tables = string_tables(self.text)
        self.paths = set()

    def name_function(self, name):
        """The strings of function name's one string table, found in the tree."""
        for sub in ("dissect", "verdict", "output", "common", "state", "app", "capture"):
            folder = os.path.join(self.source, sub)
            for fname in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
                if not fname.endswith(".c"):
                    continue
                with open(os.path.join(folder, fname)) as f:
                    funcs = c_functions(strip_comments(f.read()))
                if name in funcs:
                    tables = string_tables(funcs[name][1])
                    if len(tables) != 1:
                        raise ParseError("%s/%s: %s() has %d string tables, not one" % (
                            sub, fname, name, len(tables)))
                    return list(tables.values())[0]
        raise ParseError("%s: key function %s() not found in the source tree" % (self.path, name))

    def resolve(self, expr, env, where):
        """A key expression -> list of keys, [None] for NULL."""
        if expr == "NULL":
            return [None]
        m = re.fullmatch(r'"([^"]*)"', expr)
        if m:
            return [m.group(1)]
        if expr in env:
            return env[expr]
        m = re.fullmatch(r"(\w+)\[\w+\]", expr)
        if m and m.group(1) in self.tables:
            return self.tables[m.group(1)]
        m = re.fullmatch(r"(\w+)\(.*\)", expr, re.S)
        if m and m.group(1) not in self.funcs:
            return self.name_function(m.group(1))
        raise ParseError("%s: %s(): cannot tell which key %r is" % (self.path, where, expr))


class JwWriter(Writer):
    LEAF = ("str", "int", "bool", "ms", "real", "wire", "raw", "json")
    EVENT = re.compile(r"\bjw_(obj_open|arr_open|obj_close|arr_close|str|int|bool|ms|real|wire|raw|json)(?:_opt)?\(|"
                       r"\b(\w+)\(")

    def walk(self, name, env, stack, depth=0):
        if depth > 20:
            raise ParseError("%s: calls nest too deep from %s()" % (self.path, name))
        params, body = self.funcs[name]
        base = len(stack)
        pos = 0
        while True:
            m = self.EVENT.search(body, pos)
            if m is None:
                break
            args, pos = split_args(body, m.end() - 1)
            op = m.group(1)
            if stack and (stack[-1][0] == EVIDENCE or stack[-1][0].startswith(EVIDENCE + ".")):
                # Evidence keys are per code, from the verdict: not compared here.
                if op in ("obj_open", "arr_open"):
                    stack.append((stack[-1][0] + ".*", op[:3]))
                elif op in ("obj_close", "arr_close"):
                    stack.pop()
                continue
            if op in ("obj_open", "arr_open"):
                keys = self.resolve(args[1], env, name)
                if keys == [None]:
                    # Inside an array: an element. Elsewhere: the record's own
                    # braces, or those of a fragment spliced whole.
                    if stack and stack[-1][1] == "arr":
                        stack.append((stack[-1][0] + "[]", op[:3]))
                    else:
                        stack.append((stack[-1][0] if stack else "", op[:3]))
                    continue
                paths = [self.join(stack, key) for key in keys]
                self.paths.update(paths)
                # Several possible keys (a name table): nothing keyed may go inside.
                stack.append((paths[0] if len(paths) == 1 else MULTI, op[:3]))
            elif op in ("obj_close", "arr_close"):
                if len(stack) <= base:
                    raise ParseError("%s: %s(): more closes than opens" % (self.path, name))
                stack.pop()
            elif op in self.LEAF:
                for key in self.resolve(args[1], env, name):
                    if key is not None:
                        self.paths.add(self.join(stack, key))
            elif m.group(2) in self.funcs and m.group(2) != name:
                callee = m.group(2)
                cparams = self.funcs[callee][0]
                cenv = {}
                for param, arg in zip(cparams, args):
                    try:
                        cenv[param] = self.resolve(arg, env, name)
                    except ParseError:
                        pass  # not a key: a flow, a length, ...
                self.walk(callee, cenv, stack, depth + 1)
        if len(stack) != base:
            raise ParseError("%s: %s(): %d opens left unclosed" % (
                self.path, name, len(stack) - base))

    @staticmethod
    def join(stack, key):
        if stack and stack[-1][0].startswith(MULTI):
            raise ParseError("a keyed member %s inside an object whose key is a table" % key)
        if stack and stack[-1][1] == "arr":
            raise ParseError("a keyed member %s directly inside an array" % key)
        parent = stack[-1][0] if stack else ""
        return parent + "." + key if parent else key

    def run(self, root):
        # stack entries: (path, "obj" or "arr"); an array keeps its own path
        # and an element opened inside it adds "[]".
        self.walk(root, {}, [])
        return self.paths


class JanssonWriter(Writer):
    def run(self, root):
        """Paths of the JSON object root() builds and its callees return."""
        return self.flatten(self.build(root), "")

    def build(self, name):
        params, body = self.funcs[name]
        nodes, returned = {}, None
        pos = 0
        pattern = re.compile(r"\b(\w+)\s*=\s*json_(object|array)\(\)|"
                             r"\bjson_object_set_new\(|\bjson_array_append_new\(|"
                             r"\breturn\s+(\w+)\s*;")
        while True:
            m = pattern.search(body, pos)
            if m is None:
                break
            pos = m.end()
            if m.group(1):
                nodes[m.group(1)] = {}
            elif m.group(3):
                if m.group(3) in nodes:
                    returned = m.group(3)
            elif m.group(0).startswith("json_object_set_new"):
                args, pos = split_args(body, m.end() - 1)
                if args[0] not in nodes:
                    raise ParseError("%s: %s(): %s is not a json_object()" % (
                        self.path, name, args[0]))
                value = None
                call = re.match(r"(\w+)\(", args[2])
                if args[2] in nodes:
                    value = nodes[args[2]]
                elif call and call.group(1) in self.funcs:
                    value = self.build(call.group(1))
                for key in self.resolve(args[1], {}, name):
                    merge(nodes[args[0]], key, value)
            else:
                args, pos = split_args(body, m.end() - 1)
                if args[0] not in nodes or args[1] not in nodes:
                    raise ParseError("%s: %s(): cannot follow json_array_append_new(%s)" % (
                        self.path, name, ", ".join(args)))
                merge(nodes[args[0]], "[]", nodes[args[1]])
        dumped = re.search(r"\bjson_dumps\(\s*(\w+)", body)
        if dumped and dumped.group(1) in nodes:
            returned = dumped.group(1)  # the record itself
        if not nodes:
            return None  # not a builder (json_u64): a value
        if returned not in nodes:
            raise ParseError("%s: %s() returns no json_object()" % (self.path, name))
        return nodes[returned]

    def flatten(self, node, prefix):
        out = set()
        for key, sub in node.items():
            if key == "[]":
                out |= self.flatten(sub, prefix + "[]")
                continue
            path = prefix + "." + key if prefix else key
            out.add(path)
            if sub:
                out |= self.flatten(sub, path)
        return out


def merge(node, key, value):
    """node[key] = value, keeping what an earlier node with that key had
    (an object built in a loop is one node per turn)."""
    old = node.get(key)
    if isinstance(old, dict) and isinstance(value, dict):
        for k, v in value.items():
            merge(old, k, v)
    elif old is None:
        node[key] = value


# ------------------------------------------------------------------- docs

def tables(path):
    """(heading, [row cells]) for each table, in order."""
    heading, out, current = None, [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                heading = line.lstrip("#").strip()
                current = None
                continue
            if not line.startswith("|"):
                current = None
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(re.fullmatch(r":?-+:?", c) for c in cells):
                continue
            if current is None:
                current = []
                out.append((heading, current))
                continue  # the header row
            current.append(cells)
    return out


def members(text):
    """Backticked field names outside parentheses, with {..} / [{..}] nesting:
    a list of (name, [members])."""
    root, stack, depth, last = [], [], 0, None
    cur = root
    for tok in re.finditer(r"`([^`]*)`|\[\{|\}\]|[{}()]", text):
        t = tok.group(0)
        if t == "(":
            depth += 1
        elif t == ")":
            depth = max(0, depth - 1)
        elif depth:
            continue
        elif t in ("{", "[{") and last is None and not stack:
            stack.append(cur)  # the row's own members, braced: cur stays
        elif t in ("{", "[{"):
            if last is None:
                raise ParseError("%r: %s follows no field name" % (text[:60], t))
            last[2] = "[]" if t == "[{" else ""
            stack.append(cur)
            cur = last[1]
        elif t in ("}", "}]"):
            if not stack:
                raise ParseError("%r: unbalanced %s" % (text[:60], t))
            cur = stack.pop()
        else:
            name = tok.group(1)
            if NAME.match(name):
                last = [name, [], ""]
                cur.append(last)
    return root


def add_members(parent, entries, out):
    for name, subs, suffix in entries:
        path = parent + "." + name if parent else name
        out.add(path)
        if subs:
            add_members(path + suffix, subs, out)


def documented_row(parent, cells, schema_types, out):
    for field in re.findall(r"`([^`]*)`", cells[0]):
        if not re.fullmatch(r"[a-z_][a-z0-9_]*(\[\])?(\.[a-z_][a-z0-9_]*(\[\])?)*", field):
            raise ParseError("field %r is not a field name" % field)
        path = parent + "." + field if parent else field
        path = re.sub(r"\[\]$", "", path)
        # Parents of a dotted path are documented by it.
        parts = path.split(".")
        for i in range(1, len(parts) + 1):
            out.add(re.sub(r"\[\]$", "", ".".join(parts[:i])))
        if schema_types.get(path) == "object" and len(cells) > 1:
            inner = path + "[]" if (path + "[]") in schema_types else path
            add_members(inner, members(cells[1]), out)


def record_md_paths(path, schema_types):
    out = set()
    for heading, rows in tables(path):
        if heading == "Top level":
            parents = [""]
        else:
            parents = re.findall(r"`([^`]*)`", heading or "")
            if not parents:
                raise ParseError("%s: table under %r: the heading names no parent" % (
                    path, heading))
        for parent in parents:
            for cells in rows:
                documented_row(parent, cells, schema_types, out)
    return out


def operations_md_paths(path, schema_types):
    out = set()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    section = re.search(r"^## Statistics records\n(.*?)(?=^## )", text, re.M | re.S)
    if section is None:
        raise ParseError("%s: no \"## Statistics records\" section" % path)
    example = re.search(r"```json\n(.*?)```", section.group(1), re.S)
    if example is None:
        raise ParseError("%s: the statistics section has no JSON example" % path)
    out |= set(json.loads(example.group(1)))
    found = [rows for heading, rows in tables(path) if heading == "Statistics records"]
    if len(found) != 1:
        raise ParseError("%s: %d tables under Statistics records" % (path, len(found)))
    for cells in found[0]:
        documented_row("stats", cells, schema_types, out)
    return out


# ------------------------------------------------------------------- main

def compare(label, have, want, failures):
    """Print each path in have that is not in want."""
    for path in sorted(have - want):
        print("FAIL: %s" % label % path)
        failures.append(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kexwatch", required=True)
    ap.add_argument("--source", required=True, help="the source tree")
    ap.add_argument("--shared", help="the shared folder (its conformance captures, when present)")
    args = ap.parse_args()
    src = args.source
    schema_file = os.path.join(src, "docs", "schema", "ssh-record.schema.json")
    with open(schema_file) as f:
        schema = json.load(f)

    schema_ssh, schema_stats, types_ssh, types_stats = set(), set(), {}, {}
    schema_paths(schema, schema["$defs"]["ssh_record"], "", schema_ssh, types_ssh)
    schema_paths(schema, schema["$defs"]["stats_record"], "", schema_stats, types_stats)

    try:
        jw = JwWriter(src, "output/record.c")
        writer_ssh = jw.run("record_build")
        js = JanssonWriter(src, "output/output.c")
        writer_stats = js.run("report_stats")
        doc_ssh = record_md_paths(os.path.join(src, "docs", "record.md"), types_ssh)
        doc_stats = operations_md_paths(os.path.join(src, "docs", "operations.md"), types_stats)
    except (ParseError, OSError, KeyError, IndexError) as err:
        print("FAIL: cannot read the sources as documented in this test: %s" % err)
        return 1
    # A parse that finds almost nothing is broken, not agreeing.
    for label, found, least in (("output/record.c", writer_ssh, 80),
                                ("output/output.c stats", writer_stats, 25),
                                ("docs/record.md", doc_ssh, 60),
                                ("docs/operations.md", doc_stats, 15),
                                ("schema ssh_record", schema_ssh, 80),
                                ("schema stats_record", schema_stats, 25)):
        if len(found) < least:
            print("FAIL: only %d paths read from %s; the parse is broken" % (len(found), label))
            return 1

    captures = (find_captures(os.path.join(src, "tests", "pcaps")) +
                find_captures(os.path.join(src, "tests", "crafted")))
    shared = shared_captures(args.shared)
    seen, nrecords = set(), 0
    for capture in captures + shared:
        try:
            for profile in ("compact", "full"):
                for record in run_records(args.kexwatch, capture, profile):
                    nrecords += 1
                    record_paths(record, "", seen)
        except RuntimeError as err:
            print("FAIL: %s" % err)
            return 1
    if nrecords == 0:
        print("FAIL: no records from %d captures" % len(captures + shared))
        return 1

    fails = []
    compare("record field %s is not in the schema", seen, schema_ssh, fails)
    compare("output/record.c can write %s; the schema has no such field",
            writer_ssh, schema_ssh, fails)
    compare("output/output.c writes stats field %s; the schema has no such field",
            writer_stats, schema_stats, fails)
    compare("the schema defines %s; docs/record.md does not document it",
            schema_ssh, doc_ssh, fails)
    compare("docs/record.md documents %s; the schema has no such field",
            doc_ssh, schema_ssh, fails)
    compare("the schema defines stats field %s; docs/operations.md does not document it",
            schema_stats, doc_stats, fails)
    compare("docs/operations.md documents stats field %s; the schema has no such field",
            doc_stats, schema_stats, fails)
    # The diagnoses' members come from verdict/diagnose.c: the records show them.
    compare("the schema defines %s; output/record.c never writes it and no record has it",
            schema_ssh - seen, writer_ssh, fails)
    compare("the schema defines stats field %s; output/output.c never writes it",
            schema_stats, writer_stats, fails)

    print("%s %d records from %d captures%s: %d paths seen, %d written by record.c, "
          "%d stats paths from output.c, %d + %d in the schema, %d + %d documented" % (
              "FAIL" if fails else "ok  ", nrecords, len(captures + shared),
              "" if shared else " (no shared conformance corpus)", len(seen), len(writer_ssh),
              len(writer_stats), len(schema_ssh), len(schema_stats), len(doc_ssh),
              len(doc_stats)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
