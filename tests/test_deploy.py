"""compose.yaml and the Dockerfile, checked without a Docker engine: the Compose format
(a schema of the part qanat uses, after interpolation, as `docker compose config` reads
it) and the production shape the README promises."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).parents[1]
SCHEMA = Path(__file__).parent / "fixtures" / "deploy" / "compose-schema.json"
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}")
ONE_SHOTS = {"migrate", "qanat"}


def interpolated(text: str, given: dict[str, str]) -> str:
    """``text`` with ``${NAME:-default}`` and ``${NAME:?message}`` filled in from
    ``given`` as compose does; a bare ``${NAME}`` without a default is refused."""

    def fill(match: re.Match[str]) -> str:
        name, how, rest = match.groups()
        if name in given:
            return given[name]
        if how == ":-":
            return rest
        assert how == ":?", f"${{{name}}} has no default: compose would leave it empty"
        raise KeyError(f"{name}: {rest}")

    return VARIABLE.sub(fill, text)


def compose(given: dict[str, str] | None = None) -> dict[str, Any]:
    values = {"QANAT_SECRET_KEY": "s3cr3t" * 8} | (given or {})
    loaded: dict[str, Any] = yaml.safe_load(
        interpolated((ROOT / "compose.yaml").read_text(), values)
    )
    return loaded


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return compose()


def test_compose_yaml_is_in_the_compose_format(spec: dict[str, Any]) -> None:
    jsonschema.validate(spec, json.loads(SCHEMA.read_text()))


def test_the_secret_key_must_be_given() -> None:
    with pytest.raises(KeyError, match="QANAT_SECRET_KEY"):
        yaml.safe_load(interpolated((ROOT / "compose.yaml").read_text(), {}))


def test_every_name_it_uses_is_declared_and_every_file_it_mounts_exists(
    spec: dict[str, Any],
) -> None:
    services, volumes, networks = spec["services"], spec["volumes"], spec["networks"]
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert set(depends) <= set(services), name
        assert set(service.get("networks", [])) <= set(networks), name
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith(("./", "/")):
                assert (ROOT / source).exists(), f"{name} mounts {source}, not in the repository"
            else:
                assert source in volumes, f"{name} uses the undeclared volume {source}"


def test_the_production_shape(spec: dict[str, Any]) -> None:
    services = spec["services"]
    for name, service in services.items():
        expected = "no" if name in ONE_SHOTS else "unless-stopped"
        assert service.get("restart") == expected, name
    postgres, redis = services["postgres"], services["redis"]
    assert any(v.startswith("postgres-data:/var/lib/postgresql/data") for v in postgres["volumes"])
    assert any(v.startswith("redis-data:/data") for v in redis["volumes"])
    api, worker, proxy = services["api"], services["worker"], services["proxy"]
    assert "ports" not in api and int(api["deploy"]["replicas"]) >= 2  # replicas share no port
    assert int(worker["deploy"]["replicas"]) >= 2
    assert {"80:80", "443:443"} <= set(proxy["ports"])
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    smtp = next(s for s in services.values() if s.get("command", [None, None])[1] == "smtp")
    assert smtp["ports"] == ["25:2525"] and "QANAT_SMTP_DOMAINS" in smtp["environment"]
    tools = services["qanat"]
    assert tools["entrypoint"] == ["qanat"] and tools["profiles"] == ["tools"]
    for name in ("migrate", "api", "worker", "smtp", "qanat"):
        env = services[name]["environment"]
        assert env["QANAT_DATABASE_URL"].startswith("postgresql://"), name
        assert env["QANAT_REDIS_URL"].startswith("redis://"), name
        assert "qanat-data:/data" in services[name]["volumes"], name
        assert "./deploy/config:/etc/qanat:ro" in services[name]["volumes"], name


def test_only_the_proxys_network_may_forward_addresses(spec: dict[str, Any]) -> None:
    trusted = ipaddress.ip_network(
        spec["services"]["api"]["environment"]["QANAT_FORWARDED_ALLOW_IPS"]
    )
    [edge] = spec["networks"]["edge"]["ipam"]["config"]
    assert ipaddress.ip_network(edge["subnet"]) == trusted
    assert spec["services"]["proxy"]["networks"] == ["edge"]
    assert "edge" not in spec["services"]["worker"]["networks"]


def test_replicas_and_files_follow_the_operators_env() -> None:
    given = compose(
        {
            "QANAT_API_REPLICAS": "4",
            "QANAT_WORKERS": "8",
            "QANAT_RULES_FILE": "/etc/qanat/rules.yaml",
        }
    )
    assert int(given["services"]["api"]["deploy"]["replicas"]) == 4
    assert int(given["services"]["worker"]["deploy"]["replicas"]) == 8
    assert given["services"]["worker"]["environment"]["QANAT_RULES_FILE"] == "/etc/qanat/rules.yaml"


def test_the_image_makes_and_owns_its_data_folders() -> None:
    steps = [
        line.split(maxsplit=1)
        for line in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    runs = [i for i, (word, _) in enumerate(steps) if word == "RUN"]
    [user] = [i for i, (word, _) in enumerate(steps) if word == "USER"]
    made = " ".join(steps[i][1] for i in runs if i < user)
    assert "mkdir -p /data/files" in made and "chown -R qanat:qanat /data" in made
    assert steps[user][1] == "qanat"
    env = " ".join(rest for word, rest in steps if word == "ENV")
    assert "QANAT_HOME=/data" in env and "QANAT_ATTACHMENTS_DIR=/data/files" in env
