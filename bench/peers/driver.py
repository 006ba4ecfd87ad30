"""bench/trainer_vs_peers' driver: batchai-train's CPU training loop against
the same network in PyTorch 2 (cifar10_torch.py) and TensorFlow 2 with
Keras 2 (cifar10_tf.py), in interleaved rounds, with the machine's sgemm
speed as the roof and each run's peak memory.

  python driver.py BATCHAI_TRAIN ROUNDS STEPS THREADS DATA

Run it through bench/trainer_vs_peers, which finds the python that has
torch, tensorflow and tf_keras. Each round runs both modes (without and with
augmentation; which goes first alternates), and within a mode the three
trainers in an order rotated by the round, each a fresh process. Only
medians and per-round ratios are worth quoting: on a shared machine single
runs move by tens of percent."""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PROG = "trainer_vs_peers"
HERE = os.path.dirname(os.path.abspath(__file__))
MFLOP_PER_IMAGE = 122.68  # forward and backward, direct convolutions
WARMUP = 10
DEBIAN_PYTHON = "/usr/bin/python3"
LOAD_WARNING = 0.5  # 1-minute load average before the run that means someone else is running
PEAK_DRIFT = 0.1  # start and end sgemm further apart than this: the machine changed
FRAMEWORKS = ["batchai-train", "pytorch", "tf-keras"]
MODES = [("off", "without augmentation"), ("on", "with augmentation")]


def say(text=""):
    print("%s: %s" % (PROG, text) if text else PROG + ":", flush=True)


def die(text):
    print("%s: %s" % (PROG, text), file=sys.stderr, flush=True)
    sys.exit(1)


def run(argv, env=None, what=None):
    """(stdout, peak RSS in MiB) of one child, which must succeed. The peak
    is the child's own ru_maxrss, reaped with wait4 so that no earlier run
    can raise it."""
    with tempfile.TemporaryFile() as err:
        try:
            p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=env)
        except OSError as e:
            die("%s: %s" % (argv[0], e.strerror))
        out = p.stdout.read().decode(errors="replace")
        p.stdout.close()
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-15:]
            die("%s failed (exit %d): %s\n%s" % (what or argv[0], p.returncode, " ".join(argv),
                                                 "\n".join(tail)))
    return out, usage.ru_maxrss / 1024.0  # Linux: KiB


def last_json(out, what):
    lines = out.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        die("%s printed no result line; its output ended: %s" % (what, " | ".join(lines[-3:])))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def loadavg():
    return "%.2f %.2f %.2f" % os.getloadavg()


def sgemm(python, threads, what):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out, _ = run([python, os.path.join(HERE, "sgemm_peak.py")], env=env, what=what)
    return last_json(out, what)


def has_numpy(python):
    try:
        return subprocess.run([python, "-c", "import numpy"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0
    except OSError:
        return False


class Bench:
    def __init__(self, train, rounds, steps, threads, data):
        self.train, self.rounds, self.steps, self.threads, self.data = train, rounds, steps, threads, data
        self.work = tempfile.mkdtemp(prefix="trainer_vs_peers.")
        self.env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        self.placement = None
        # Debian's numpy and BLAS, the ones batchai-train is built with, for comparison.
        self.debian_numpy = os.path.realpath(DEBIAN_PYTHON) != os.path.realpath(sys.executable) and \
            has_numpy(DEBIAN_PYTHON)
        # results[mode][framework] = [(images/s, MiB), ...] in round order
        self.results = {m: {f: [] for f in FRAMEWORKS} for m, _ in MODES}

    def ours(self, augmentation):
        run_dir = os.path.join(self.work, "run")
        shutil.rmtree(run_dir, ignore_errors=True)
        argv = [self.train, "--data", self.data, "--dir", run_dir, "--threads", str(self.threads),
                "--epochs", "1", "--steps-per-epoch", str(self.steps), "--test-images", "1000"]
        if not augmentation:
            argv.append("--no-augmentation")
        out, rss = run(argv, env=self.env, what="batchai-train")
        if self.placement is None:
            # Its configuration's "rank 0 HOST local 0: BACKEND" line says
            # which kernels ran.
            self.placement = next((line.strip() for line in out.splitlines()
                                   if re.match(r"\s+rank 0 ", line)), "")
            say("batchai-train: %s" % (self.placement or "printed no rank 0 placement line"))
        try:
            with open(os.path.join(run_dir, "metrics.jsonl")) as f:
                ips = float(json.loads(f.readline())["images_per_second"])
        except (OSError, ValueError, KeyError) as e:
            die("batchai-train left no images_per_second in %s/metrics.jsonl (%s)" % (run_dir, e))
        shutil.rmtree(run_dir, ignore_errors=True)
        return ips, rss

    def peer(self, framework, augmentation):
        script = {"pytorch": "cifar10_torch.py", "tf-keras": "cifar10_tf.py"}[framework]
        argv = [sys.executable, os.path.join(HERE, script), "--data", self.data, "--steps", str(self.steps),
                "--warmup", str(WARMUP), "--threads", str(self.threads)]
        if not augmentation:
            argv.append("--no-augmentation")
        out, rss = run(argv, env=self.env, what=framework)
        return float(last_json(out, framework)["images_per_second"]), rss

    def header(self):
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:
            cores = os.cpu_count()
        say("%s, nproc %d, Linux %s; load average before %s" % (cpu_model(), cores, os.uname().release,
                                                                 loadavg()))
        if os.getloadavg()[0] > LOAD_WARNING:
            say("warning: other work is running; OpenMP trainers (batchai-train, PyTorch) lose far more "
                "to shared cores than TensorFlow's thread pool does, so these figures will not compare fairly")
        out, _ = run([self.train, "--version"], what="batchai-train --version")
        say(out.splitlines()[0] if out else "batchai-train printed no version")
        t, _ = run([sys.executable, os.path.join(HERE, "cifar10_torch.py"), "--versions"], env=self.env,
                   what="cifar10_torch.py --versions")
        t = last_json(t, "cifar10_torch.py --versions")
        say("pytorch %s (mkldnn %s, oneDNN %s, CPU capability %s)"
            % (t["torch"], "available" if t["mkldnn"] else "unavailable", t["onednn"], t["capability"]))
        k, _ = run([sys.executable, os.path.join(HERE, "cifar10_tf.py"), "--versions"], env=self.env,
                   what="cifar10_tf.py --versions")
        k = last_json(k, "cifar10_tf.py --versions")
        onednn = k["TF_ENABLE_ONEDNN_OPTS"]
        say("tensorflow %s, tf_keras %s (TF_ENABLE_ONEDNN_OPTS %s)"
            % (k["tensorflow"], k["tf_keras"], onednn if onednn is not None else "unset: oneDNN on"))
        say("rounds: %d, each {without, with augmentation} x {%s}: a fresh process each, batch 32, %d steps, "
            "%d threads; the peers' images/s count steps %d..%d (warm-up and tracing left out), "
            "batchai-train's all %d steps (its metrics.jsonl)"
            % (self.rounds, ", ".join(FRAMEWORKS), self.steps, self.threads, WARMUP + 1, self.steps,
               self.steps))

    def peak(self, when):
        venv = sgemm(sys.executable, self.threads, "sgemm_peak.py")
        text = "sgemm 2048^3 float32, %d threads, best of 5, %s: %.1f GFLOP/s (numpy %s, %s)" % (
            self.threads, when, venv["gflops"], venv["numpy"], venv["blas"])
        if self.debian_numpy:
            debian = sgemm(DEBIAN_PYTHON, self.threads, DEBIAN_PYTHON + " sgemm_peak.py")
            text += "; Debian's numpy %s: %.1f (not counted in the peak)" % (debian["numpy"], debian["gflops"])
        say(text)
        return venv["gflops"]

    def measure(self):
        self.header()
        peaks = [self.peak("at the start")]
        started = time.monotonic()
        for r in range(1, self.rounds + 1):
            modes = MODES if r % 2 else MODES[::-1]
            for mode, mode_name in modes:
                k = (r - 1) % len(FRAMEWORKS)
                order = FRAMEWORKS[k:] + FRAMEWORKS[:k]
                figures = []
                for framework in order:
                    aug = mode == "on"
                    ips, rss = self.ours(aug) if framework == "batchai-train" else self.peer(framework, aug)
                    self.results[mode][framework].append((ips, rss))
                    figures.append("%s %.0f images/s (%.0f MiB)" % (framework, ips, rss))
                say("round %d, %s: %s" % (r, mode_name, ", ".join(figures)))
        minutes = (time.monotonic() - started) / 60
        peaks.append(self.peak("at the end"))
        peak = max(peaks)
        if min(peaks) < (1 - PEAK_DRIFT) * peak:
            say("warning: sgemm ran %.0f%% slower at one end than at the other: the machine's speed changed "
                "during the run" % (100 * (1 - min(peaks) / peak)))
        say("load average after %s; the rounds took %.1f min" % (loadavg(), minutes))
        self.summary(peak)

    def summary(self, peak):
        say("peak %.1f GFLOP/s (the higher sgemm); %% of peak counts %.2f MFLOP an image, the direct "
            "algorithm's work, so an algorithm that does less (Winograd) can pass 100%%"
            % (peak, MFLOP_PER_IMAGE))
        final = {}
        for mode, mode_name in MODES:
            say("%s:" % mode_name)
            medians = {}
            for framework in FRAMEWORKS:
                runs = self.results[mode][framework]
                ips = [x for x, _ in runs]
                medians[framework] = statistics.median(ips)
                gflops = medians[framework] * MFLOP_PER_IMAGE / 1000
                say("  %-13s %s | median %.0f images/s, %.1f GFLOP/s, %.0f%% of peak | peak RSS %.0f MiB"
                    % (framework, " ".join("%.0f" % x for x in ips), medians[framework], gflops,
                       100 * gflops / peak, statistics.median(m for _, m in runs)))
            ratios = [ours[0] / max(t[0], k[0]) for ours, t, k in
                      zip(*(self.results[mode][f] for f in FRAMEWORKS))]
            say("  ours / faster peer of each round: %s (median %.2f)"
                % (" ".join("%.2f" % x for x in ratios), statistics.median(ratios)))
            final[mode] = medians["batchai-train"] / max(medians["pytorch"], medians["tf-keras"])
        say("ours / faster peer (medians): %.2f without augmentation, %.2f with augmentation; target 1.2"
            % (final["off"], final["on"]))

    def close(self):
        shutil.rmtree(self.work, ignore_errors=True)


def main():
    if len(sys.argv) != 6:
        die("usage: driver.py BATCHAI_TRAIN ROUNDS STEPS THREADS DATA")
    train, data = sys.argv[1], sys.argv[5]
    try:
        rounds, steps, threads = (int(x) for x in sys.argv[2:5])
    except ValueError:
        die("ROUNDS, STEPS and THREADS must be whole numbers, not %s" % " ".join(sys.argv[2:5]))
    if rounds < 1 or threads < 1 or steps <= WARMUP:
        die("needs ROUNDS >= 1, STEPS > %d (the peers' warm-up) and THREADS >= 1, not %d, %d and %d"
            % (WARMUP, rounds, steps, threads))
    if not (os.path.isfile(train) and os.access(train, os.X_OK)):
        die("%s: not an executable batchai-train" % train)
    for name in ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]:
        if not os.path.isfile(os.path.join(data, name)):
            die("no %s in %s (set BATCHAI_DATA to a cifar-10-batches-bin directory; "
                "share/batchai/get-cifar10 makes one)" % (name, data))
    bench = Bench(os.path.abspath(train), rounds, steps, threads, data)
    try:
        bench.measure()
    finally:
        bench.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
