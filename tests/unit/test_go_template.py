"""The Go text/template subset docker's `--format` takes, checked against what Go prints
for the same template and values."""

from __future__ import annotations

import pytest

from compose.cli.go_template import TemplateError, go_text, render, tabwriter

ROWS: list[dict[str, object]] = [
    {
        "Name": "p-web-1", "State": "running", "ExitCode": 0, "Labels": "a=1,b=2",
        "Publishers": [
            {"URL": "0.0.0.0", "PublishedPort": 8080, "TargetPort": 80, "Protocol": "tcp"},
        ],
    },
    {"Name": "p-db-1", "State": "exited", "ExitCode": 3, "Labels": "", "Publishers": []},
]
HEADERS = {"Name": "NAME", "State": "STATE", "ExitCode": "EXIT CODE"}
LABELS = {"p-web-1": {"a": "1"}, "p-db-1": {}}


def label(row: object, key: object = "") -> str:
    assert isinstance(row, dict)
    return LABELS[str(row["Name"])].get(str(key), "")


def lines(template: str) -> list[str]:
    return render(template, ROWS, HEADERS, {"Label": label}).split("\n")


@pytest.mark.parametrize(("template", "expected"), [
    ("{{.Name}}", ["p-web-1", "p-db-1"]),
    ("{{ .Name }}:{{.ExitCode}}", ["p-web-1:0", "p-db-1:3"]),
    ("{{.Name}}\\t{{.State}}", ["p-web-1\trunning", "p-db-1\texited"]),
    ("{{.Name | upper}}", ["P-WEB-1", "P-DB-1"]),
    ('{{lower "AB"}}{{title "ab cd"}}', ["abAb Cd", "abAb Cd"]),
    ("{{pad .State 1 2}}|", [" running  |", " exited  |"]),
    ("{{truncate .Name 3}}", ["p-w", "p-d"]),
    ('{{join (split .Labels ",") ";"}}', ["a=1;b=2", ""]),
    ('{{printf "%-8s|%d" .Name .ExitCode}}', ["p-web-1 |0", "p-db-1  |3"]),
    ('{{printf "%q" .Name}}', ['"p-web-1"', '"p-db-1"']),
    ("{{len .Publishers}}", ["1", "0"]),
    ('{{index (split .Labels ",") 0}}', ["a=1", ""]),
])
def test_fields_functions_and_pipes(template: str, expected: list[str]) -> None:
    assert lines(template) == expected


@pytest.mark.parametrize(("template", "expected"), [
    ('{{if eq .State "running"}}up{{else}}down{{end}}', ["up", "down"]),
    ('{{if gt .ExitCode 0}}failed{{else if eq .State "running"}}ok{{else}}?{{end}}',
     ["ok", "failed"]),
    ("{{if and .Publishers (not .ExitCode)}}published{{end}}", ["published", ""]),
    ('{{if or (eq .ExitCode 3) (eq .ExitCode 4)}}x{{end}}', ["", "x"]),
    ('{{if ne .State "exited"}}live{{end}}', ["live", ""]),
    ("{{range .Publishers}}{{.URL}}:{{.PublishedPort}}->{{.TargetPort}}{{end}}",
     ["0.0.0.0:8080->80", ""]),
    ("{{range .Publishers}}{{.PublishedPort}}{{else}}none{{end}}", ["8080", "none"]),
    ("{{with .Publishers}}{{len .}} ports{{else}}no ports{{end}}", ["1 ports", "no ports"]),
    ("{{range .Publishers}}{{$.Name}}{{end}}", ["p-web-1", ""]),
    ("{{- .Name -}} {{/* a comment */}}x", ["p-web-1x", "p-db-1x"]),
    ('{{.Label "a"}}', ["1", ""]),
])
def test_conditions_ranges_and_methods(template: str, expected: list[str]) -> None:
    assert lines(template) == expected


def test_json_is_go_s_without_html_or_ascii_escapes() -> None:
    rows: list[dict[str, object]] = [{"Name": "é<&>", "N": 1, "B": True, "Z": None}]
    assert render("{{json .}}", rows, {}) == '{"Name":"é<&>","N":1,"B":true,"Z":null}'
    assert render("{{json .Name}}", rows, {}) == '"é<&>"'


def test_values_print_as_fmt_s_percent_v() -> None:
    assert go_text(None) == "<no value>"
    assert go_text(True) == "true"
    assert go_text(2.0) == "2"
    assert go_text(["a", 1]) == "[a 1]"
    assert go_text({"b": 1, "a": "x"}) == "map[a:x b:1]"


def test_table_has_docker_s_header_and_tabwriter_columns() -> None:
    assert lines("table {{.Name}}\\t{{.ExitCode}}\\t{{.State}}") == [
        "NAME      EXIT CODE   STATE",
        "p-web-1   0           running",
        "p-db-1    3           exited",
    ]


def test_a_table_header_takes_functions_and_methods_as_their_titles() -> None:
    assert lines('table {{.Name | upper}}\\t{{.Label "a"}}')[0] == "NAME      LABEL"


def test_tabwriter_pads_to_ten_and_leaves_the_last_cell() -> None:
    assert tabwriter("a\tb\nlonger-than-ten\tc\t") == (
        "a" + " " * 17 + "b\n" + "longer-than-ten   " + "c" + " " * 9
    )


@pytest.mark.parametrize(("template", "error"), [
    ("{{.Nope}}", "can't evaluate field Nope"),
    ("{{nosuch .Name}}", 'function "nosuch" not defined'),
    ("{{.Name", "unclosed action"),
    ("{{if .Name}}x", "unexpected EOF"),
    ("{{end}}", "unexpected {{end}}"),
    ("{{.Name 1}}", "Name is not a method"),
    ("{{.Name | .State}}", "not a method"),
    ("{{#}}", "unexpected"),
])
def test_what_go_refuses_is_refused(template: str, error: str) -> None:
    with pytest.raises(TemplateError, match=error.replace("{", r"\{").replace("}", r"\}")):
        lines(template)


def test_inspect_documents_are_maps_a_missing_key_is_no_value() -> None:
    from compose.cli.go_template import render_documents

    docs: list[dict[str, object]] = [
        {"State": {"Status": "running"}, "Config": {"Labels": {"a": "1"}, "Cmd": ["sh"]}},
        {"State": {"Status": "exited"}, "Config": {"Labels": {}, "Cmd": None}},
    ]
    text = render_documents(
        '{{.State.Status}} {{index .Config.Labels "a"}} {{json .Config.Cmd}} {{.Nope}}', docs
    )
    assert text.split("\n") == [
        'running 1 ["sh"] <no value>', "exited <no value> null <no value>",
    ]


VARS_ROW: list[dict[str, object]] = [
    {"Name": "web", "List": ["a", "b", "c"], "Map": {"z": 1, "a": 2}, "N": 3, "Nothing": []},
]


def one(template: str) -> str:
    return render(template, VARS_ROW, {"Name": "NAME"})


@pytest.mark.parametrize(("template", "expected"), [
    ("{{$x := .Name}}{{$x}}-{{$x | upper}}", "web-WEB"),
    ("{{range $i, $e := .List}}{{$i}}={{$e}},{{end}}", "0=a,1=b,2=c,"),
    ("{{range $e := .List}}{{$e}}{{$.Name}} {{end}}", "aweb bweb cweb "),
    ("{{range $k, $v := .Map}}{{$k}}:{{$v}} {{end}}", "a:2 z:1 "),  # maps in key order
    ("{{$n := 0}}{{range .List}}{{$n = len $.List}}{{end}}{{$n}}", "3"),  # = assigns outer
    ("{{with $x := .Name}}{{$x}}{{end}}", "web"),
    ("{{if $x := .N}}{{$x}}{{else}}no{{end}}", "3"),
    ("{{$m := .Map}}{{$m.z}}", "1"),
])
def test_variables_as_go_declares_and_assigns_them(template: str, expected: str) -> None:
    assert one(template) == expected


def test_a_field_of_a_parenthesized_pipeline() -> None:
    rows: list[dict[str, object]] = [{"Ports": [{"Port": 80}, {"Port": 443}]}]
    assert render("{{(index .Ports 1).Port}}", rows, {}) == "443"


@pytest.mark.parametrize(("template", "expected"), [
    ('{{range .List}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}', "a"),
    ('{{range .List}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}', "ac"),
    ("{{range 3}}{{.}}{{end}}", "012"),
    ('{{with ""}}a{{else with .Name}}{{.}}{{end}}', "web"),
    ("{{slice .List 1 2}} {{slice .Name 1}}", "[b] eb"),
    ('{{html "<a&\'>"}}', "&lt;a&amp;&#39;&gt;"),
    ('{{urlquery "a b&c"}}', "a+b%26c"),
    ('{{printf "%d %s" 1}}', "1 %!s(MISSING)"),
    ("{{-  .Name\n-}}", "web"),
])
def test_go_s_other_actions_and_functions(template: str, expected: str) -> None:
    assert one(template) == expected


def test_a_table_header_skips_a_ranged_column() -> None:
    assert one("table {{range $i, $e := .List}}{{$e}}{{end}}\\t{{.Name}}").split("\n") == [
        "          NAME", "abc       web",
    ]


@pytest.mark.parametrize(("template", "error"), [
    ("{{$x}}", 'undefined variable "$x"'),
    ("{{if .N}}{{$y := 1}}{{end}}{{$y}}", 'undefined variable "$y"'),  # gone at {{end}}
    ("{{$y = 1}}", 'undefined variable "$y"'),
    ("{{$a, $b := .List}}", "too many declarations"),
    ("{{break}}", "outside"),
    ("{{range .Nothing}}{{else}}{{continue}}{{end}}", "{{continue}} outside {{range}}"),
    ("{{len 3}}", "len of type int"),
    ("{{index .List 9}}", "out of range"),
    ("{{slice .List 2 1}}", "out of range"),
    ('{{"\\x"}}', "escape"),
    ('{{printf "%*d" 1 2}}', ""),  # whatever Python makes of it: an error, not a traceback
    ("{{range .Name}}{{end}}", "range can't iterate over web"),
])
def test_template_errors_are_template_errors(template: str, error: str) -> None:
    try:
        one(template)
    except TemplateError as exc:
        assert error in str(exc)
    else:
        assert not error, "expected an error"


def test_inspect_a_field_of_a_missing_key_is_no_value() -> None:
    from compose.cli.go_template import render_documents

    docs: list[dict[str, object]] = [{"Config": {"Labels": {"a": "1"}}}]
    text = render_documents('{{.X.Y.Z}} {{$c := .Config}}{{$c.Labels.a}}', docs)
    assert text == "<no value> 1"


@pytest.mark.parametrize(("template", "expected"), [
    ('{{define "x"}}[{{.Name}}]{{end}}{{template "x" .}}', "[web]"),
    ('{{template "n" .List}}{{define "n"}}{{len .}}{{end}}', "3"),  # defined after its use
    ('{{block "b" .Name}}<{{.}}>{{end}}!', "<web>!"),
    ('a{{define "x"}}b{{end}}c', "ac"),  # a definition prints nothing where it stands
    ('{{range .List}}{{template "e" .}}{{end}}{{define "e"}}{{$}};{{end}}', "a;b;c;"),
    ('{{define "x"}}{{.Name}}{{end}}{{template "x"}}', "<no value>"),  # nil dot
    ('{{define "x"}} {{end}}{{define "x"}}y{{end}}{{template "x"}}', "y"),  # empty gives way
    ('{{define "x"}}y{{end}}{{define "x"}}{{end}}{{template "x"}}', "y"),
    ("{{define `r`}}raw{{end}}{{template `r`}}", "raw"),
    ('{{- define "x" -}}\n  X\n{{- end -}}\n{{template "x"}}', "X"),
    ('{{define "l"}}{{range .}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}{{end}}'
     '{{template "l" .List}}', "a"),
])
def test_named_templates_as_go_defines_and_calls_them(template: str, expected: str) -> None:
    assert one(template) == expected


def test_a_table_header_runs_through_named_templates() -> None:
    assert lines('table {{define "n"}}{{.Name}}{{end}}{{template "n" .}}\\t{{.State}}') == [
        "NAME      STATE", "p-web-1   running", "p-db-1    exited",
    ]


@pytest.mark.parametrize(("template", "error"), [
    ('{{template "nope" .}}',
     'executing "" at <{{template "nope" .}}>: template "nope" not defined'),
    ('{{define "x"}}{{template "y"}}{{end}}{{template "x"}}',
     'executing "x" at <{{template "y"}}>: template "y" not defined'),
    ('{{define "x"}}a{{end}}{{define "x"}}b{{end}}',
     'template: multiple definition of template "x"'),
    ('{{block "x" .}}a{{end}}{{define "x"}}b{{end}}', 'multiple definition of template "x"'),
    ('{{if .N}}{{define "x"}}{{end}}{{end}}', "unexpected <define> in command"),
    ('{{block "x"}}{{end}}', "missing value for block clause"),
    ("{{template x}}", "unexpected 'x' in template clause"),
    ("{{define .Name}}{{end}}", "in define clause"),
    ('{{define "x"}}', 'unexpected EOF: the definition of "x" lacks its {{end}}'),
    ('{{define "x"}}{{else}}{{end}}', "unexpected {{else}}"),
    ('{{range .List}}{{block "b" .}}{{break}}{{end}}{{end}}', "{{break}} outside {{range}}"),
    ('{{$v := 1}}{{template "x" .}}{{define "x"}}{{$v}}{{end}}', 'undefined variable "$v"'),
    ('{{define "x"}}{{template "x" .}}{{end}}{{template "x" .}}',
     "exceeded maximum template depth"),
])
def test_named_template_errors_are_go_s(template: str, error: str) -> None:
    with pytest.raises(TemplateError) as caught:
        one(template)
    assert error in str(caught.value)


def test_inspect_takes_named_templates() -> None:
    from compose.cli.go_template import render_documents

    docs: list[dict[str, object]] = [{"State": {"Status": "running"}}]
    template = '{{define "s"}}<{{.Status}}>{{end}}{{template "s" .State}}'
    assert render_documents(template, docs) == "<running>"


@pytest.mark.parametrize(("template", "expected"), [
    ('{{if and .Nothing (index .Nothing 0)}}first{{else}}none{{end}}', "none"),
    ("{{or .Name (index .Nothing 3)}}", "web"),
    ("{{and .Name .N}} {{or .Nothing 0}}", "3 0"),  # else the last operand
    ("{{.Name | and 1}} {{.Name | or .Nothing}}", "web web"),  # a piped value comes last
])
def test_and_or_stop_at_the_deciding_operand_as_go_s(template: str, expected: str) -> None:
    assert one(template) == expected


def test_js_escapes_as_go_s_jsescapestring() -> None:
    rows: list[dict[str, object]] = [{"N": "a\\b'c\"d<e>f&g=h\x01ié\u2028"}]
    assert render("{{js .N}}", rows, {}) == (
        "a\\\\b\\'c\\\"d\\u003Ce\\u003Ef\\u0026g\\u003Dh\\u0001ié\\u2028"
    )


def test_call_has_no_function_to_call_in_a_row() -> None:
    with pytest.raises(TemplateError, match="error calling call: non-function"):
        one("{{call .Name}}")


@pytest.mark.parametrize(("template", "expected"), [
    ("{{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}}", "31 15 15 5 1000"),
    ("{{1e3}} {{.5}} {{-2.5}} {{+3}}", "1000 0.5 -2.5 3"),
    ("{{'a'}} {{'\\n'}} {{printf \"%c%c\" 'h' 105}}", "97 10 hi"),
    ("{{'\\''}} {{'\\u00e9'}} {{'é'}}", "39 233 233"),
    ('{{printf "%b %o %x" 5 8 255}}', "101 10 ff"),
    ("{{index .List 0x1}}", "b"),
])
def test_numbers_and_characters_as_go_writes_them(template: str, expected: str) -> None:
    assert one(template) == expected


def test_a_struct_prints_its_values_in_field_order_as_fmt_does() -> None:
    from compose.cli.go_struct import GoStruct

    publisher = GoStruct(URL="0.0.0.0", TargetPort=80, PublishedPort=8080, Protocol="tcp")
    rows: list[dict[str, object]] = [{"Publishers": [publisher]}]
    assert render("{{.Publishers}}|{{index .Publishers 0}}", rows, {}) == (
        "[{0.0.0.0 80 8080 tcp}]|{0.0.0.0 80 8080 tcp}"
    )
    assert render("{{json .Publishers}}", rows, {}) == (
        '[{"URL":"0.0.0.0","TargetPort":80,"PublishedPort":8080,"Protocol":"tcp"}]'
    )
