"""What scripts read from the query commands, through the CLI on a running stack: Go-template
`--format` of `ps`/`volume ls`, compose's list formats of `ls`/`images`, `ls --filter`,
`images -q`, `logs --index`, as docker compose v2 prints them."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import json
import re

from tests.e2e.test_orchestration import SLEEPER, Stack, root, stack  # noqa: F401

TALKER = 'image: busybox\ncommand: ["sh", "-c", "hostname; sleep 300"]\nstop_grace_period: 0s\n'


def test_ps_go_templates_scripts_write(stack: Stack) -> None:
    stack.write({"db": SLEEPER, "web": SLEEPER})
    stack.ok("up", "-d")
    stack.ok("stop", "db")
    db, web = f"{stack.name}-db-1", f"{stack.name}-web-1"
    out = stack.ok(
        "ps", "-a", "--format",
        '{{.Service}}\\t{{if eq .State "running"}}up{{else}}down {{.ExitCode}}{{end}}'
        '\\t{{.Label "com.docker.compose.service" | upper}}',
    ).stdout
    assert out.splitlines() == ["db\tdown 137\tDB", "web\tup\tWEB"]
    table = stack.ok("ps", "-a", "--format", "table {{.Name}}\\t{{.State}}").stdout
    width = len(web) + 3  # docker's tabwriter: widest cell plus 3
    assert table.splitlines() == [
        "NAME".ljust(width) + "STATE", db.ljust(width) + "exited", web.ljust(width) + "running",
    ]
    bad = stack.cli("ps", "--format", "{{.Nope}}")
    assert bad.returncode == 2 and "can't evaluate field Nope" in bad.stderr


def test_ls_and_images_print_compose_s_list_formats(stack: Stack) -> None:
    stack.write({"db": SLEEPER})
    stack.ok("up", "-d")
    lines = stack.ok("ls", "--filter", f"name=^{stack.name}$", "--format", "{{json .}}").stdout
    assert [json.loads(line)["Name"] for line in lines.splitlines()] == [stack.name]
    assert stack.ok("ls", "-q", "--filter", f"name={stack.name[4:]}").stdout.split() == [
        stack.name
    ]
    table = stack.ok("ls", "--filter", f"name=^{stack.name}$").stdout.splitlines()
    assert table[0] == "NAME".ljust(20) + "STATUS".ljust(20) + "CONFIG FILES"
    assert table[1].startswith(stack.name.ljust(20) + "running(1)".ljust(20))
    refused = stack.cli("ls", "--filter", "status=running")
    assert refused.returncode == 1 and "invalid filter 'status'" in refused.stderr
    unparsed = stack.cli("ls", "--format", "yaml")
    assert unparsed.returncode == 1
    assert 'format value "yaml" could not be parsed: parsing failed' in unparsed.stderr

    (image,) = json.loads(stack.ok("images", "--format", "json").stdout)
    assert list(image)[:6] == ["ID", "ContainerName", "Repository", "Tag", "Platform", "Size"]
    assert image["ContainerName"] == f"{stack.name}-db-1"
    assert (image["Repository"], image["Tag"]) == ("busybox", "latest")
    (quiet,) = stack.ok("images", "-q").stdout.split()
    assert re.fullmatch(r"[0-9a-f]{64}", quiet) and image["ID"] == f"sha256:{quiet}"
    header, row = stack.ok("images").stdout.splitlines()
    assert header.split("   ")[0].strip() == "CONTAINER"
    assert [c for c in re.split(r"\s{3,}", header)] == [
        "CONTAINER", "REPOSITORY", "TAG", "PLATFORM", "IMAGE ID", "SIZE", "CREATED",
    ]
    assert row.startswith(f"{stack.name}-db-1".ljust(20) + "busybox".ljust(20) + "latest")
    assert row.endswith(" ago") or row.endswith("N/A")


def test_images_lists_every_container_of_the_project_one_offs_included(stack: Stack) -> None:
    """docker compose's `images` lists the project's containers whatever their state, `run`'s
    one-offs too; a stopped service container stays listed."""
    stack.write({"db": SLEEPER})
    stack.ok("up", "-d")
    stack.ok("run", "-d", "--name", f"{stack.name}-once", "db", "sleep", "300")
    stack.ok("stop", "db")
    rows = json.loads(stack.ok("images", "--format", "json").stdout)
    assert sorted(r["ContainerName"] for r in rows) == [f"{stack.name}-db-1", f"{stack.name}-once"]
    assert {(r["Repository"], r["Tag"]) for r in rows} == {("busybox", "latest")}


def test_ps_and_inspect_list_exposed_ports_of_a_running_container(stack: Stack) -> None:
    """`expose:` ports are Docker's ExposedPorts: `ps` shows them (`53/udp, 7000-7001/tcp`,
    publishers without URL and port 0), inspect's NetworkSettings.Ports has them as null;
    once stopped the container lists none."""
    stack.write({"web": SLEEPER + 'expose: ["7000-7001", "53/udp"]\n'})
    stack.ok("up", "-d")
    (web,) = stack.rows()
    assert web["Ports"] == "53/udp, 7000-7001/tcp"
    assert {(p["URL"], p["PublishedPort"], p["TargetPort"], p["Protocol"])
            for p in web["Publishers"]} == {  # type: ignore[attr-defined]
        ("", 0, 53, "udp"), ("", 0, 7000, "tcp"), ("", 0, 7001, "tcp")}
    ports = json.loads(stack.ok("container", "inspect", "-f", "{{json .NetworkSettings.Ports}}",
                                f"{stack.name}-web-1").stdout)
    assert ports == {"53/udp": None, "7000/tcp": None, "7001/tcp": None}
    stack.ok("stop", "-t", "0")
    (stopped,) = stack.rows()
    assert (stopped["Ports"], stopped["Publishers"]) == ("", [])


def test_top_prints_compose_s_blocks(stack: Stack) -> None:
    """compose 2.29's top: per container (sorted) its name, a tabwriter table whose columns
    are at least 5 wide (CMD cells padded too: each ends with a tab), and an empty line."""
    stack.write({"web": SLEEPER, "db": SLEEPER})
    stack.ok("up", "-d")
    lines = stack.ok("top").stdout.split("\n")
    assert lines[0] == f"{stack.name}-db-1" and lines[4] == f"{stack.name}-web-1"
    header, process = lines[1], lines[2]
    assert header.startswith("UID    PID") and "   C    STIME   " in header
    assert header.endswith("CMD") and process.startswith("root   ")
    assert process.endswith("sleep 300   ")
    assert lines[3] == "" and lines[7:] == ["", ""]


def test_ls_counts_only_running_containers_unless_all(stack: Stack) -> None:
    """compose lists projects from docker's container list: without -a only running ones."""
    stack.write({"db": SLEEPER, "web": SLEEPER})
    stack.ok("up", "-d")
    stack.ok("stop", "web")
    mine = ("--filter", f"name=^{stack.name}$", "--format", "json")
    assert json.loads(stack.ok("ls", *mine).stdout)[0]["Status"] == "running(1)"
    assert json.loads(stack.ok("ls", "-a", *mine).stdout)[0]["Status"] == (
        "exited(1), running(1)"
    )
    stack.ok("stop", "db")
    assert json.loads(stack.ok("ls", *mine).stdout) == []


def test_logs_index_shows_one_replica(stack: Stack) -> None:
    stack.write({"web": TALKER + "deploy:\n  replicas: 2\n"})
    stack.ok("up", "-d")
    second = stack.ok("exec", "-T", "--index", "2", "web", "hostname").stdout.strip()
    for _ in range(50):
        out = stack.ok("logs", "--no-log-prefix", "--index", "2", "web").stdout
        if out:
            break
    assert out.splitlines() == [second]
    assert len(stack.ok("logs", "--no-log-prefix", "web").stdout.splitlines()) == 2
    refused = stack.cli("logs", "--index", "2")
    assert refused.returncode == 1
    assert "--index requires one service to be selected" in refused.stderr


def test_volume_ls_filters_and_templates(stack: Stack) -> None:
    stack.write({"db": SLEEPER + "volumes: [data:/data]\n"}, "volumes:\n  data: {}\n")
    stack.ok("up", "-d")
    mine = f"label=com.docker.compose.project={stack.name}"
    names = stack.ok("volume", "ls", "--filter", mine, "--format", "{{.Name}}").stdout
    assert names.split() == [f"{stack.name}_data"]
    (doc,) = [
        json.loads(line)
        for line in stack.ok("volume", "ls", "-f", mine, "--format", "json").stdout.splitlines()
    ]
    assert doc["Name"] == f"{stack.name}_data" and doc["Driver"] == "local"
    assert f"com.docker.compose.project={stack.name}" in doc["Labels"]
    assert stack.ok("volume", "ls", "-q", "-f", mine, "-f", "dangling=true").stdout == ""


def test_inspect_format_and_image_ls_format(stack: Stack) -> None:
    stack.write({"db": SLEEPER})
    stack.ok("up", "-d")
    db = f"{stack.name}-db-1"
    status = stack.ok(
        "container", "inspect", "-f",
        '{{.State.Status}} {{index .Config.Labels "com.docker.compose.service"}}', db,
    ).stdout
    assert status == "running db\n"
    assert stack.ok("image", "inspect", "-f", "{{.Os}} {{index .RepoTags 0}}", "busybox").stdout \
        == "linux busybox:latest\n"
    bad = stack.cli("container", "inspect", "-f", "{{.State.Status", db)
    assert bad.returncode == 2 and "unclosed action" in bad.stderr
    assert stack.ok("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout.split() == [
        "busybox:latest"
    ]
    listed = stack.ok("image", "ls", "--format", "json").stdout.splitlines()
    (row,) = [json.loads(line) for line in listed]
    assert (row["Repository"], row["Tag"], len(row["ID"])) == ("busybox", "latest", 12)
    header = stack.ok("image", "ls").stdout.splitlines()[0]
    assert header == "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE"


def test_port_and_publishers_template(stack: Stack) -> None:
    stack.write({"web": SLEEPER + 'ports: ["127.0.0.1::80"]\n'})
    stack.ok("up", "-d")
    address = stack.ok("port", "web", "80").stdout.strip()
    host, _, published = address.rpartition(":")
    assert host == "127.0.0.1" and published.isdigit()
    listed = stack.ok(
        "ps", "--format", "{{range .Publishers}}{{.URL}}:{{.PublishedPort}}{{end}}"
    ).stdout
    assert listed == f"{address}\n"
    missing = stack.cli("port", "web", "81")
    assert missing.returncode == 1
    assert f"no port 81/tcp for container {stack.name}-web-1: {published}/tcp" in missing.stderr


def test_port_of_an_exposed_port_and_of_a_stopped_service(stack: Stack) -> None:
    """docker compose's `port`: an exposed port without a binding is `:0` (its publisher has
    no address and port 0), listed as `0/tcp` when another is asked for; a service with no
    running container is `not running`."""
    stack.write({"web": SLEEPER + 'expose: ["7000"]\n'})
    stack.ok("up", "-d")
    assert stack.ok("port", "web", "7000").stdout == ":0\n"
    missing = stack.cli("port", "web", "81")
    assert f"no port 81/tcp for container {stack.name}-web-1: 0/tcp" in missing.stderr
    stack.ok("stop", "-t", "0")
    stopped = stack.cli("port", "web", "7000")
    assert stopped.returncode == 1 and 'service "web" is not running' in stopped.stderr
    numbered = stack.cli("port", "--index", "2", "web", "7000")
    assert 'service "web" is not running container #2' in numbered.stderr


def test_go_template_variables_in_ps_and_inspect(stack: Stack) -> None:
    stack.write({"db": SLEEPER, "web": SLEEPER})
    stack.ok("up", "-d")
    out = stack.ok(
        "ps", "--format", '{{$s := .Service}}{{$n := .Name}}{{$s}}={{$n | upper}}'
        '{{range $i, $e := split "x,y" ","}} {{$i}}{{$e}}{{$.Service}}{{end}}',
    ).stdout
    assert out.splitlines() == [
        f"db={stack.name.upper()}-DB-1 0xdb 1ydb", f"web={stack.name.upper()}-WEB-1 0xweb 1yweb",
    ]
    db = f"{stack.name}-db-1"
    labels = stack.ok(
        "container", "inspect", "-f",
        '{{range $k, $v := .Config.Labels}}{{if eq $k "com.docker.compose.service"}}'
        '{{$k}}={{$v}}{{end}}{{end}} {{(index . "State").Status}}', db,
    )
    assert labels.stdout == "com.docker.compose.service=db running\n"
    bad = stack.cli("container", "inspect", "-f", "{{if true}}{{$y := 1}}{{end}}{{$y}}", db)
    assert bad.returncode == 2 and 'undefined variable "$y"' in bad.stderr
    assert "Traceback" not in bad.stderr
