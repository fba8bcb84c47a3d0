#!/usr/bin/python3
"""The deployment files in deploy/ name only what driftd has:

    test_deploy.py DRIFTD_BINARY MOCK_KAFKA_BINARY PROJECT_DIR

- each Kubernetes example (deploy/kubernetes/*.yaml) is run as the
  cluster would run it: the driftd container's config from its ConfigMap,
  every volume mounted where the container mounts it (here: under a
  temporary directory, the config's paths rewritten to match), the
  baselines its config names, the environment from the Secret keys it
  references, its listen address on a local port; Kafka is librdkafka's
  mock cluster. Then every probe answers 200 on the port it names, the
  prometheus.io annotations and the ServiceMonitor reach /metrics on the
  container's metrics port through the Service, and with the Secret's
  token ingest is authorized (without it: 401);
- the systemd unit passes `systemd-analyze verify` without a warning, and
  its config (deploy/systemd/driftd.toml) passes `driftd config check`
  with its paths where the unit puts them.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, os.path.join(HERE, "..", "kafka"))
import daemon_common as dc  # noqa: E402
from daemon_common import check  # noqa: E402
from mock_cluster import MockCluster  # noqa: E402

DRIFTD = os.path.abspath(sys.argv[1])
MOCK = os.path.abspath(sys.argv[2])
ROOT = os.path.abspath(sys.argv[3])
TRAIN = os.path.join(ROOT, "data", "demo", "train.csv")


def build_baseline(path, model, version):
    subprocess.run([DRIFTD, "baseline", "build", "--input", TRAIN, "--out", path,
                    "--categorical", "country,device", "--prediction", "score", "--label",
                    "label", "--id", "request_id", "--model", model, "--model-version", version],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def request(port, path, body=None, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                 method="POST" if body is not None else "GET")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


def kubernetes_example(name, work):
    path = os.path.join(ROOT, "deploy", "kubernetes", name)
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    config_maps = {d["metadata"]["name"]: d for d in by_kind.get("ConfigMap", [])}
    secrets = {d["metadata"]["name"]: d for d in by_kind.get("Secret", [])}
    workloads = by_kind.get("Deployment", []) + by_kind.get("StatefulSet", [])
    check(len(workloads) == 1, f"{name}: one workload")
    workload = workloads[0]
    pod = workload["spec"]["template"]
    container = next(c for c in pod["spec"]["containers"] if c["name"] == "driftd")
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    for t in workload["spec"].get("volumeClaimTemplates", []):
        volumes[t["metadata"]["name"]] = {"name": t["metadata"]["name"], "claim": True}

    # Every mount under a temporary root; the config's paths follow.
    root = os.path.join(work, "pod")
    mounts = {}
    for m in container["volumeMounts"]:
        check(m["name"] in volumes, f"{name}: volume {m['name']} is declared")
        local = root + m["mountPath"]
        os.makedirs(local, exist_ok=True)
        mounts[m["mountPath"]] = (local, volumes[m["name"]])
    for mount_path, (local, volume) in mounts.items():
        cm = volume.get("configMap", {}).get("name")
        if cm in config_maps:
            for key, text in config_maps[cm]["data"].items():
                with open(os.path.join(local, key), "w") as f:
                    f.write(text)

    def local_path(p):
        best = max((m for m in mounts if p == m or p.startswith(m.rstrip("/") + "/")),
                   key=len, default=None)
        return None if best is None else mounts[best][0] + p[len(best):]

    args = container["args"]
    check(args[:2] == ["run", "--config"] and len(args) == 3, f"{name}: driftd run --config")
    config_path = local_path(args[2])
    check(config_path is not None and os.path.exists(config_path),
          f"{name}: the config {args[2]} is in a mounted ConfigMap")
    with open(config_path) as f:
        config = f.read()

    # The baselines the config names, in their (kubectl-made) ConfigMaps.
    for model_block in config.split("[[models]]")[1:]:
        model = re.search(r'^name = "([^"]+)"', model_block, re.M).group(1)
        version = re.search(r'^version = "([^"]+)"', model_block, re.M).group(1)
        baseline = re.search(r'^baseline = "([^"]+)"', model_block, re.M).group(1)
        local = local_path(baseline)
        check(local is not None, f"{name}: baseline {baseline} is on a mounted volume")
        build_baseline(local, model, version)

    port = dc.free_port()
    listen = re.search(r'^listen = "([^"]+)"', config, re.M).group(1)
    check(int(listen.rsplit(":", 1)[1]) == ports["metrics"],
          f"{name}: driftd listens on the container's metrics port ({listen})")
    config = config.replace(f'"{listen}"', f'"127.0.0.1:{port}"')
    for mount_path in sorted(mounts, key=len, reverse=True):
        config = config.replace(f'"{mount_path}', f'"{mounts[mount_path][0]}')
    kafka = None
    if 'type = "kafka"' in config:
        topics = re.search(r"^topics = \[([^\]]*)\]", config, re.M).group(1)
        kafka = MockCluster(MOCK, {t.strip(' "'): 2 for t in topics.split(",")})
        config = re.sub(r'^brokers = "[^"]*"', f'brokers = "{kafka.bootstrap}"', config,
                        flags=re.M)
    with open(config_path, "w") as f:
        f.write(config)

    env = dict(os.environ)
    token = None
    for e in container.get("env", []):
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            secret = secrets.get(ref["name"], {})
            value = secret.get("stringData", {}).get(ref["key"])
            check(value is not None, f"{name}: secret {ref['name']}/{ref['key']} exists")
            env[e["name"]] = value or ""
            if e["name"] == "DRIFTD_TOKEN":
                token = value
        else:
            env[e["name"]] = e["value"]

    log = open(os.path.join(work, f"{name}.log"), "w")
    proc = subprocess.Popen([DRIFTD, *args[:2], config_path], env=env, cwd=work, stderr=log)
    try:
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            probe = container.get(kind)
            if not probe:
                continue
            get = probe["httpGet"]
            target = ports[get["port"]] if isinstance(get["port"], str) else get["port"]
            check(target == ports["metrics"], f"{name}: {kind} on the metrics port")
            check(dc.wait_for(lambda: request(port, get["path"])[0] == 200, timeout=60),
                  f"{name}: {kind} GET {get['path']} answers 200")
        annotations = pod["metadata"].get("annotations", {})
        check(int(annotations["prometheus.io/port"]) == ports["metrics"],
              f"{name}: prometheus.io/port is the metrics port")
        status, text = request(port, annotations["prometheus.io/path"])
        check(status == 200 and "# TYPE driftd_build_info gauge" in text,
              f"{name}: prometheus.io/path serves the metrics")
        service = by_kind["Service"][0]
        monitor = by_kind["ServiceMonitor"][0]
        labels = pod["metadata"]["labels"]
        check(all(labels.get(k) == v for k, v in service["spec"]["selector"].items()),
              f"{name}: the Service selects the pod")
        sport = service["spec"]["ports"][0]
        check(sport["targetPort"] in ports, f"{name}: the Service targets a container port")
        check(all(service["metadata"]["labels"].get(k) == v
                  for k, v in monitor["spec"]["selector"]["matchLabels"].items()),
              f"{name}: the ServiceMonitor selects the Service")
        endpoint = monitor["spec"]["endpoints"][0]
        check(endpoint["port"] == sport["name"] and
              request(port, endpoint["path"])[0] == 200,
              f"{name}: the ServiceMonitor scrapes {endpoint['path']} on the Service's port")
        if token and 'type = "http"' in config:
            event = json.dumps({"model": "fraud", "model_version": "3", "id": "r1",
                                "ts": 1795341600000, "features": {"amount": 12.5},
                                "prediction": 0.1}).encode()
            check(request(port, "/v1/predictions", event)[0] == 401,
                  f"{name}: ingest without the token: 401")
            status, body = request(port, "/v1/predictions", event, token)
            check(status in (200, 202),
                  f"{name}: ingest with the Secret's token ({status} {body.strip()})")
        check(proc.poll() is None, f"{name}: driftd keeps running")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()
        if kafka:
            kafka.stop()
    check(proc.returncode == 0, f"{name}: driftd stops cleanly on SIGTERM")


def systemd_unit(work):
    unit_path = os.path.join(ROOT, "deploy", "systemd", "driftd.service")
    with open(unit_path) as f:
        unit = f.read()
    exec_start = re.search(r"^ExecStart=(\S+) run --config (\S+)$", unit, re.M)
    check(exec_start is not None, "systemd: ExecStart runs driftd run --config")
    state_dir = re.search(r"^StateDirectory=(\S+)$", unit, re.M).group(1)
    config_dir = re.search(r"^ConfigurationDirectory=(\S+)$", unit, re.M).group(1)
    check(exec_start.group(2) == f"/etc/{config_dir}/driftd.toml",
          "systemd: the config is in the ConfigurationDirectory")
    if shutil.which("systemd-analyze"):
        local_unit = os.path.join(work, "driftd.service")
        with open(local_unit, "w") as f:
            f.write(unit.replace(exec_start.group(1), DRIFTD))
        r = subprocess.run(["systemd-analyze", "verify", local_unit], capture_output=True,
                           text=True)
        check(r.returncode == 0 and not r.stderr.strip(),
              f"systemd-analyze verify: no error, no warning {r.stderr.strip()}")
    else:
        print("     (systemd-analyze not installed here: the unit is not verified)")
    with open(os.path.join(ROOT, "deploy", "systemd", "driftd.toml")) as f:
        config = f.read()
    check(re.search(r'^dir = "([^"]+)"', config, re.M).group(1) == f"/var/lib/{state_dir}",
          "systemd: the config's state dir is the unit's StateDirectory")
    etc = os.path.join(work, "etc")
    os.makedirs(etc)
    os.makedirs(os.path.join(work, "log"))
    open(os.path.join(work, "log", "predictions.jsonl"), "w").close()  # the server's log
    build_baseline(os.path.join(etc, "baseline.json"), "fraud", "3")
    config = (config.replace(f'"/var/lib/{state_dir}"', f'"{work}/state"')
              .replace('"/var/log/model-server/', f'"{work}/log/'))
    with open(os.path.join(etc, "driftd.toml"), "w") as f:
        f.write(config)
    r = subprocess.run([DRIFTD, "config", "check", os.path.join(etc, "driftd.toml")],
                       capture_output=True, text=True)
    check(r.returncode == 0, f"systemd: driftd config check accepts its config {r.stderr[-300:]}")


def kubernetes_tests():
    """One test per Kubernetes example in deploy/kubernetes/."""
    tests = []
    for name in sorted(os.listdir(os.path.join(ROOT, "deploy", "kubernetes"))):
        if name.endswith(".yaml"):
            def test(work, name=name):
                kubernetes_example(name, work)
            test.__name__ = "kubernetes_" + name[:-5].replace("-", "_")
            tests.append(test)
    return tests


if __name__ == "__main__":
    dc.init(DRIFTD, TRAIN)
    dc.run_tests(kubernetes_tests() + [systemd_unit])
