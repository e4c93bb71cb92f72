#!/usr/bin/env python3
"""Call rate with SIPp: tandemd against Kamailio + rtpengine, same machine, same run.

Starts PostgreSQL + Redis + tandemd through tests/integration/harness.py, and the peer SBC that
operators build from open source: Kamailio as a stateful proxy (tests/bench/
kamailio-rtpengine.cfg) anchoring media in rtpengine (Debian's rtpengine-daemon, userspace
forwarding, --table=-1, as in bench_relay.py). The same SIPp (sip-tester) scenarios drive both:

  tests/bench/sipp/uac.xml  INVITE -> 407 -> INVITE with digest -> 200 -> ACK, G.711 PCMA
                            in 20 ms RTP packets (--rtp-packets of them), BYE 100 ms after
                            the last is due -> 200
  tests/bench/sipp/uas.xml  the called "gateway": 200 with SDP at once, the same RTP back,
                            200 to the BYE

The audio is SIPp's own /usr/share/sip-tester/g711a.pcap re-packetised into 20 ms packets (it
carries 30 ms ones). --rtp-mode stream (the default) sends it with SIPp's rtp_stream: a socket
per call and a pool of sender threads. --rtp-mode pcap plays the 20 ms pcap with
play_pcap_audio: a thread and a raw socket per call, which stalls SIPp's own event loop at a
few hundred calls/s on this machine (its watchdog says so), so it measures SIPp, not the SBCs.

Both systems authenticate the caller with digest (the same user and HA1 in PostgreSQL; for
Kamailio through a `subscriber` view, as in bench_register.py) and send the call to one
gateway, the SIPp UAS: tandemd through a route (^9) to a provisioned gateway, Kamailio by
setting $du. (tandemd takes gateway INVITEs without digest, by source ACL, but sends them only
to a DID's extension, never on to another gateway; so both sides use digest.)

For each rate in --rates, alternating which system goes first, `sipp -r R -m R*step` runs one
step per system until that system's first step with a failed call. Recorded per step: completed
calls/s, failed calls (and SIPp's reason counters), SIPp retransmissions, response times (first
INVITE to 200, the 407 round included; BYE to 200) p50/p99 from SIPp's -trace_rtt, and the CPU
(utime + stime from /proc/PID/stat, whole process trees) per completed call of tandemd vs
kamailio + rtpengine, and of each plus PostgreSQL + Redis. Prints a table with the ratios
Tandem/peer per step and at the last rate both completed cleanly.

    unshare -n sh -c 'ip link set lo up && TANDEM_BUILD=build-bench \\
        python3 tests/bench/bench_sipp.py [--rates 50,100,...] [--json out.json]'

Every process started here is stopped on the way out, whatever happens; each SIPp run is bounded
in calls (-m) and time (-timeout), the whole script by --time-limit. All traffic is on
127.0.0.1 (in pcap mode SIPp sends through a raw socket, so run it as root)."""
import argparse
import csv
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_register import (Kamailio, _on_alarm, _on_term, cpu_seconds,  # noqa: E402
                            postmaster_pid, prepare_kamailio_db)
from bench_relay import Rtpengine, loadavg  # noqa: E402
from harness import Stack, api, free_port, wait_for  # noqa: E402

DOMAIN = "sipp.tandem.test"
PASSWORD = "bench-password-1"
CALLER = "c0"
NUMBER = "900100"  # matches the ^9 route; not an extension, so tandemd routes it out
PCAP = "/usr/share/sip-tester/g711a.pcap"
# SIPp's media ports (-mp, and +2 for video). Both play_pcap_audio and SIPp 3.6.1's rtp_stream
# send every call's RTP from there, as /proc/net/udp shows. Below tandemd's (30000-39999) and
# rtpengine's (40000-49999) ranges.
UAC_MEDIA_PORT, UAS_MEDIA_PORT = 10000, 20000


def sip_port():
    """A free UDP port outside the relays' media ranges: SIPp binds its ports anew on every
    step, and a port a relay had taken for a call meanwhile would fail the whole step."""
    for _ in range(200):
        port = free_port(socket.SOCK_DGRAM)
        if not 30000 <= port <= 49999:
            return port
    raise RuntimeError("no free UDP port outside 30000-49999")


# -------- the pcap --------

def pcap_payloads(src):
    """The RTP payloads (after a 12-byte header) of the UDP packets in a classic pcap file
    with Ethernet framing, as SIPp's own g711a.pcap is."""
    with open(src, "rb") as f:
        data = f.read()
    if data[:4] == b"\xd4\xc3\xb2\xa1":
        endian = "<"
    elif data[:4] == b"\xa1\xb2\xc3\xd4":
        endian = ">"
    else:
        raise RuntimeError(f"{src}: not a classic microsecond pcap file")
    if struct.unpack(endian + "I", data[20:24])[0] != 1:
        raise RuntimeError(f"{src}: not Ethernet framing")
    out, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "IIII", data[off:off + 16])[2]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ihl = (frame[14] & 0x0F) * 4
        if frame[12:14] == b"\x08\x00" and frame[23] == 17:
            out.append(frame[14 + ihl + 8 + 12:])
    return out


def make_pcap(src, dst, packets):
    """`packets` RTP packets of 20 ms PCMA (160 bytes, payload type 8), 20 ms apart, cut from
    the audio in src. SIPp's g711a.pcap carries 30 ms packets (240 bytes), so it is
    re-packetised rather than played as it is. SIPp rewrites addresses and ports when it plays
    a pcap, so they are placeholders here."""
    audio = b"".join(pcap_payloads(src))
    if len(audio) < 160 * packets:
        raise RuntimeError(f"{src} holds {len(audio) // 160} packets of 20 ms, {packets} asked")
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i in range(packets):
        rtp = struct.pack("!BBHII", 0x80, 8, 1000 + i, 160 * i, 0x5E1F0001) \
            + audio[160 * i:160 * (i + 1)]
        udp = struct.pack("!HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        t = 20000 * i
        out.append(struct.pack("<IIII", 1700000000 + t // 1000000, t % 1000000, len(frame),
                               len(frame)) + frame)
    with open(dst, "wb") as f:
        f.write(b"".join(out))
    with open(dst[:-5] + ".alaw", "wb") as f:  # the same audio for rtp_stream
        f.write(audio[:160 * packets])


# -------- the systems --------

class KamailioSbc(Kamailio):
    """Kamailio with kamailio-rtpengine.cfg; start, readiness and stop are bench_register's."""

    def __init__(self, root, pg, children, rtpe_port, gateway_port):
        self.children = children
        self.port = sip_port()
        self.dir = os.path.join(root, f"kamailio-sbc-{children}")
        os.makedirs(self.dir)
        self.log_path = os.path.join(self.dir, "kamailio.log")
        self.proc = subprocess.Popen(
            ["kamailio", "-f", os.path.join(HERE, "kamailio-rtpengine.cfg"), "-DD", "-E",
             "-Y", self.dir, "-P", os.path.join(self.dir, "kamailio.pid"),
             "-l", f"udp:127.0.0.1:{self.port}", "-m", "256", "-M", "16",
             "-A", f'BENCH_DBURL="postgres://tandem@127.0.0.1:{pg.port}/tandem"',
             "-A", f"BENCH_CHILDREN={children}",
             "-A", f'BENCH_RTPENGINE="udp:127.0.0.1:{rtpe_port}"',
             "-A", f'BENCH_GATEWAY="sip:127.0.0.1:{gateway_port}"'],
            stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._up, timeout=15, what=f"kamailio children={children}")


def setup_tandem(stack, gateway_port):
    """tandemd, a tenant with the caller, and a route ^9 to the gateway (the SIPp UAS)."""
    node = stack.node("sipp", **{"log__level": "warn", "security__rate_limit": 0,
                                 "security__ban_failures": 0, "media__port_min": 30000,
                                 "media__port_max": 39999})
    status, tenant = api(node, "POST", "/v1/tenants", stack.key, {"name": "Sipp", "domain": DOMAIN})
    if status != 201:
        raise RuntimeError(f"tenant: {status} {tenant}")
    t = tenant["id"]
    for path, body in ((f"/v1/tenants/{t}/users", {"extension": CALLER, "password": PASSWORD}),
                       (f"/v1/tenants/{t}/gateways",
                        {"name": "sipp-uas", "host": "127.0.0.1", "port": gateway_port,
                         "ping_interval": 0})):
        status, obj = api(node, "POST", path, stack.key, body)
        if status != 201:
            raise RuntimeError(f"{path}: {status} {obj}")
        if path.endswith("gateways"):
            gw = obj["id"]
    status, obj = api(node, "POST", f"/v1/tenants/{t}/routes", stack.key,
                      {"name": "out", "pattern": "^9", "gateway_ids": [gw], "priority": 100})
    if status != 201:
        raise RuntimeError(f"route: {status} {obj}")
    return node


# -------- SIPp --------

STAT_FAILS = ("FailedCannotSendMessage(C)", "FailedMaxUDPRetrans(C)", "FailedTcpConnect(C)",
              "FailedTcpClosed(C)", "FailedUnexpectedMessage(C)", "FailedCallRejected(C)",
              "FailedCmdNotSent(C)", "FailedRegexpDoesntMatch(C)", "FailedRegexpShouldntMatch(C)",
              "FailedRegexpHdrNotFound(C)", "FailedOutboundCongestion(C)",
              "FailedTimeoutOnRecv(C)", "FailedTimeoutOnSend(C)", "FailedTestDoesntMatch(C)",
              "FailedTestShouldntMatch(C)", "FailedStrcmpShouldntMatch(C)")


def scenario_copy(name, step_dir, pcap, hold_ms, rtp_mode):
    """The scenario with the pcap path and hold filled in (play_pcap_audio takes no keyword).
    rtp_mode "stream": the same audio sent by SIPp's rtp_stream instead (a pool of sender
    threads and a socket per call, on [rtpstream_audio_port]) rather than a raw-socket thread
    per call. Without a pcap, the play step is left out (a signalling-only diagnostic)."""
    with open(os.path.join(HERE, "sipp", name)) as f:
        text = f.read()
    if pcap and rtp_mode == "stream":
        play = '<exec play_pcap_audio="[pcap]"/>'
        if play not in text or "[media_port]" not in text:
            raise RuntimeError(f"{name}: no play step or media port to turn into rtp_stream")
        text = text.replace(play, f'<exec rtp_stream="{pcap[:-5]}.alaw,1,8"/>')
        text = text.replace("[media_port]", "[rtpstream_audio_port]")
    elif pcap:
        text = text.replace("[pcap]", pcap)
    else:
        text = re.sub(r"\s*<nop>\s*<action>\s*<exec play_pcap_audio[^>]*/>\s*</action>\s*</nop>",
                      "", text)
        if "play_pcap_audio" in text:
            raise RuntimeError(f"{name}: the play step was not found to be left out")
    text = text.replace("[hold]", str(hold_ms))
    path = os.path.join(step_dir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def sipp_cmd(scenario, port, media_port, limit_s, extra):
    return ["sipp", "-sf", scenario, "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
            "-mp", str(media_port), "-cp", str(sip_port()), "-nostdin", "-timeout",
            f"{limit_s}s", "-timeout_error", "-trace_err", "-trace_stat", "-fd", "1",
            # SIPp's socket buffers default to 64 kB, which its own UAC overflowed at 300/s
            "-buff_size", "4194304",
            *extra]


def read_stats(path):
    """The last row of SIPp's -trace_stat CSV as a dict ({} when there is none)."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f, delimiter=";"))
    except OSError:
        return {}
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1]))


def read_rtt(step_dir):
    """{rtd number: [(end time ms, response ms)]} from SIPp's -trace_rtt file(s)."""
    out = {}
    for name in os.listdir(step_dir):
        if not name.endswith("_rtt.csv"):
            continue
        with open(os.path.join(step_dir, name)) as f:
            for line in f:
                parts = line.strip().split(";")
                if len(parts) < 3 or not parts[1].replace(".", "", 1).isdigit():
                    continue
                out.setdefault(parts[2], []).append((float(parts[0]), float(parts[1])))
    return out


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(p / 100 * len(v)))]


def udp_errors():
    """The namespace's UDP receive drops (full socket buffers) from /proc/net/snmp."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    kv = dict(zip(rows[0][1:], map(int, rows[1][1:])))
    return kv.get("RcvbufErrors", 0)


def udp_drops_by_port():
    """{local port: datagrams dropped} for the namespace's UDP sockets (/proc/net/udp)."""
    out = {}
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            parts = line.split()
            port = int(parts[1].split(":")[1], 16)
            out[port] = out.get(port, 0) + int(parts[-1])
    return out


def watchdog_trips(step_dir, side):
    """How often SIPp's own event loop stalled (its watchdog's notes in the error log)."""
    n = 0
    for name in os.listdir(step_dir):
        if name.startswith(side + "_") and name.endswith("_errors.log"):
            with open(os.path.join(step_dir, name), errors="replace") as f:
                n += f.read().count("watchdog timer")
    return n


def read_tail(path, n=1500):
    with open(path, errors="replace") as f:
        return f.read()[-n:]


def sipp(cmd, step_dir, side):
    """SIPp started in step_dir, its stderr in <side>.err (the file is closed here: the child
    keeps its own descriptor)."""
    with open(os.path.join(step_dir, side + ".err"), "w") as err:
        return subprocess.Popen(cmd, cwd=step_dir, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)


def stop(proc, grace=5):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_step(system, rate, args, tmp, pcap):
    """One SIPp UAS + UAC run against a system at a rate; returns the row."""
    calls = max(1, int(round(rate * args.step_seconds)))
    step_dir = os.path.join(tmp, f"{system['name']}-{rate:g}")
    os.makedirs(step_dir)
    hold_ms = args.rtp_packets * 20 + args.hold_margin_ms
    limit_s = int(args.step_seconds + hold_ms / 1000 + 40)
    uas_sf = scenario_copy("uas.xml", step_dir, pcap, hold_ms, args.rtp_mode)
    uac_sf = scenario_copy("uac.xml", step_dir, pcap, hold_ms, args.rtp_mode)
    uas = sipp(sipp_cmd(uas_sf, system["gateway_port"], UAS_MEDIA_PORT, limit_s + 10,
                        ["-m", str(calls), "-stf", os.path.join(step_dir, "uas.csv")]),
               step_dir, "uas")
    uac = None
    try:
        time.sleep(0.5)  # the UAS binds its ports (an OPTIONS probe would count as a call)
        if uas.poll() is not None:
            raise RuntimeError(f"sipp UAS exited with {uas.returncode}: "
                               + read_tail(os.path.join(step_dir, "uas.err")))
        before = {k: cpu_seconds(pid) for k, pid in system["roots"].items()}
        drops0 = udp_errors()
        ports0 = udp_drops_by_port()
        uac_port = sip_port()
        t0 = time.monotonic()
        uac = sipp(
            sipp_cmd(uac_sf, uac_port, UAC_MEDIA_PORT, limit_s,
                     [f"127.0.0.1:{system['port']}", "-s", NUMBER, "-key", "caller", CALLER,
                      "-key", "domain", DOMAIN, "-au", CALLER, "-ap", PASSWORD,
                      "-r", f"{rate:g}", "-m", str(calls), "-recv_timeout", "8000",
                      "-trace_rtt", "-rtt_freq", "1", "-timer_resol", str(args.timer_resol),
                      "-stf", os.path.join(step_dir, "uac.csv")]),
            step_dir, "uac")
        gen = {"uac": 0.0, "uas": 0.0}
        ports = ports0
        while uac.poll() is None and time.monotonic() - t0 < limit_s + 15:
            gen = {"uac": cpu_seconds(uac.pid), "uas": cpu_seconds(uas.pid)}  # before they exit
            ports = udp_drops_by_port()  # the SIPp sockets' counters go with them
            time.sleep(0.2)
        wall = time.monotonic() - t0
        if uac.poll() is None:
            raise RuntimeError(f"sipp UAC still running after {wall:.0f} s")
        time.sleep(0.5)  # the last BYE's CDR and media teardown, for both systems alike
        after = {k: cpu_seconds(pid) for k, pid in system["roots"].items()}
        sampled = time.monotonic() - t0
        drops = udp_errors() - drops0
        ports1 = udp_drops_by_port()
        sip_drops = {"server": ports1.get(system["port"], 0) - ports0.get(system["port"], 0),
                     "uas": ports.get(system["gateway_port"], 0),
                     "uac": ports.get(uac_port, 0)}
    finally:
        if uac:
            stop(uac)
        stop(uas)
    st = read_stats(os.path.join(step_dir, "uac.csv"))
    if not st:
        raise RuntimeError(f"sipp UAC (exit {uac.returncode}) wrote no statistics: "
                           + read_tail(os.path.join(step_dir, "uac.err")))
    ok = int(st.get("SuccessfulCall(C)", 0))
    failed = int(st.get("FailedCall(C)", 0))
    made = int(st.get("OutgoingCall(C)", 0))
    rtt = read_rtt(step_dir)
    setup = rtt.get("1", [])
    bye = rtt.get("2", [])
    # The set-up span: first INVITE sent (end of its response time minus the time) to the last
    # 200 to an INVITE; the fixed hold is not in it. CPU is still divided by completed calls.
    span = ((max(t for t, _ in setup) - min(t - r for t, r in setup)) / 1000
            if len(setup) > 1 else wall)
    cpu = {k: after[k] - before[k] for k in before}
    own = sum(cpu[k] for k in system["own"])
    row = {"system": system["name"], "rate": rate, "calls": calls, "made": made, "ok": ok,
           "failed": failed + (calls - made if made < calls else 0),
           "not_started": max(0, calls - made),
           "reasons": {k[6:-3]: int(st[k]) for k in STAT_FAILS if int(st.get(k, 0) or 0)},
           "retransmits": int(st.get("Retransmissions(C)", 0) or 0), "udp_drops": drops,
           "sip_drops": sip_drops, "watchdog": {side: watchdog_trips(step_dir, side)
                                                 for side in ("uac", "uas")},
           "achieved_cps": ok / span if span > 0 else 0.0, "span_s": round(span, 2),
           "setup_p50_ms": pct([r for _, r in setup], 50),
           "setup_p99_ms": pct([r for _, r in setup], 99),
           "bye_p99_ms": pct([r for _, r in bye], 99),
           "cpu_s": {k: round(v, 2) for k, v in cpu.items()},
           "cpu_ms_per_call": 1000 * own / ok if ok else float("nan"),
           "all_cpu_ms_per_call": 1000 * sum(cpu.values()) / ok if ok else float("nan"),
           "own_cpu_pct": 100 * own / sampled,
           "uac_cpu_pct": 100 * gen["uac"] / wall, "uas_cpu_pct": 100 * gen["uas"] / wall,
           "uac_exit": uac.returncode, "load": loadavg()}
    if row["failed"]:
        errs = [n for n in os.listdir(step_dir) if n.endswith("_errors.log")]
        if errs:
            with open(os.path.join(step_dir, errs[0]), errors="replace") as f:
                row["errors"] = f.read()[:1500]
    return row


# -------- media counted by the relays --------

def tandem_rtp(stack):
    """RTP packets tandemd received on both legs of all calls, from the CDRs."""
    out = stack.pg.psql("SELECT coalesce(sum((media_a->>'packets_in')::bigint), 0) + "
                        "coalesce(sum((media_b->>'packets_in')::bigint), 0), count(*) FROM cdrs")
    packets, cdrs = out.strip().split("|")
    return int(packets), int(cdrs)


def rtpengine_rtp(rtpe):
    """rtpengine's own totals (ng `statistics`), the packet counters only."""
    try:
        r = rtpe.ng({"command": "statistics"})
    except OSError as e:
        return f"ng statistics failed: {e}"
    found = {}

    def walk(x, path):
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, path + "." + k.decode(errors="replace"))
        elif isinstance(x, int) and "packet" in path.lower():
            found[path.lstrip(".")] = x
    walk(r, "")
    return found


# -------- the report --------

def fmt_row(r):
    return (f"{r['system']:<9}{r['rate']:>6g}{r['calls']:>7}{r['ok']:>7}{r['failed']:>7}"
            f"{r['achieved_cps']:>7.0f}{r['setup_p50_ms']:>8.1f}{r['setup_p99_ms']:>8.1f}"
            f"{r['bye_p99_ms']:>8.1f}{r['retransmits']:>6}{r['udp_drops']:>7}"
            f"{r['own_cpu_pct']:>7.1f}"
            f"{r['cpu_ms_per_call']:>8.2f}{r['all_cpu_ms_per_call']:>8.2f}"
            f"{r['uac_cpu_pct'] + r['uas_cpu_pct']:>7.0f}  {r['load']}")


def report(rows, args):
    print(f"\nSIPp call rate: {os.cpu_count()} CPUs, UDP on 127.0.0.1, steps of "
          f"{args.step_seconds:g} s, {args.rtp_packets} PCMA packets of 20 ms each way "
          f"({args.rtp_mode}; BYE {args.rtp_packets * 20 + args.hold_margin_ms} ms after the ACK);"
          f" peer: kamailio children={args.kamailio_children} "
          f"+ rtpengine --num-threads={args.rtpengine_threads or 'default'} --table=-1")
    head = (f"{'system':<9}{'rate':>6}{'calls':>7}{'ok':>7}{'failed':>7}{'cps':>7}"
            f"{'p50 ms':>8}{'p99 ms':>8}{'bye99':>8}{'retx':>6}{'drops':>7}{'CPU %':>7}"
            f"{'ms/call':>8}"
            f"{'all ms':>8}{'sipp%':>7}  load")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(fmt_row(r))
        if r["reasons"] or any(r["sip_drops"].values()) or any(r["watchdog"].values()):
            print(f"{'':<9}failures: {r['reasons']}; SIP datagrams dropped at {r['sip_drops']}; "
                  f"SIPp event-loop stalls (watchdog): {r['watchdog']}")
    print("cps: completed calls / set-up span (first INVITE to last 200 to an INVITE); "
          "p50/p99: first INVITE to 200\n(the 407 round included); bye99: BYE to 200, p99; "
          "retx: SIPp UAC retransmissions;\ndrops: UDP datagrams dropped on full socket buffers "
          "(all processes in the namespace, mostly RTP sent\nback to SIPp's media sockets, "
          "which it does not read); CPU %: tandemd, or kamailio + rtpengine, of one CPU\n"
          "while SIPp ran; ms/call: their CPU per completed call; all ms: + PostgreSQL + Redis; "
          "sipp%: SIPp UAC + UAS CPU")
    print("\nTandem / peer per rate (<1: Tandem cheaper or faster):")
    both = []
    for rate in sorted({r["rate"] for r in rows}):
        t = [r for r in rows if r["rate"] == rate and r["system"] == "tandem"]
        p = [r for r in rows if r["rate"] == rate and r["system"] == "peer"]
        if not (t and p):
            continue
        t, p = t[0], p[0]
        clean = not t["failed"] and not p["failed"]
        if clean:
            both.append(rate)
        print(f"  {rate:>6g}/s: CPU/call x{t['cpu_ms_per_call'] / p['cpu_ms_per_call']:.2f}, "
              f"with PG+Redis x{t['all_cpu_ms_per_call'] / p['all_cpu_ms_per_call']:.2f}, "
              f"set-up p99 x{t['setup_p99_ms'] / p['setup_p99_ms']:.2f}, "
              f"cps {t['achieved_cps']:.0f} vs {p['achieved_cps']:.0f}"
              + ("" if clean else f" (failed: {t['failed']} vs {p['failed']})"))
    for name in ("tandem", "peer"):
        mine = [r for r in rows if r["system"] == name]
        good = [r for r in mine if not r["failed"]]
        bad = [r for r in mine if r["failed"]]
        print(f"{name}: last rate without a failed call "
              f"{good[-1]['rate']:g}/s ({good[-1]['achieved_cps']:.0f} cps)" if good else
              f"{name}: every step had failures", end="")
        print(f"; first failed call at {bad[0]['rate']:g}/s ({bad[0]['failed']} failed, "
              f"{bad[0]['reasons']})" if bad else f"; no failed call up to {mine[-1]['rate']:g}/s"
              if mine else "")
    if both:
        rate = both[-1]
        t = [r for r in rows if r["rate"] == rate and r["system"] == "tandem"][0]
        p = [r for r in rows if r["rate"] == rate and r["system"] == "peer"][0]
        print(f"at the last rate both completed without a failed call ({rate:g}/s): "
              f"Tandem/peer CPU per call x{t['cpu_ms_per_call'] / p['cpu_ms_per_call']:.2f} "
              f"({t['cpu_ms_per_call']:.2f} vs {p['cpu_ms_per_call']:.2f} ms), with PG+Redis "
              f"x{t['all_cpu_ms_per_call'] / p['all_cpu_ms_per_call']:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", default="50,100,200,300,400,500,600,800,1000,1200",
                    help="calls/s steps, in order, each system until its first failed call")
    ap.add_argument("--step-seconds", type=float, default=5)
    ap.add_argument("--rtp-packets", type=int, default=25,
                    help="20 ms PCMA packets each way per call (the hold is as long); 0: no "
                         "RTP at all, a diagnostic of the signalling alone")
    ap.add_argument("--rtp-mode", choices=("pcap", "stream"), default="stream",
                    help="pcap: play_pcap_audio (a thread and raw socket per call); stream: "
                         "SIPp's rtp_stream with the same audio (pooled threads)")
    ap.add_argument("--hold-margin-ms", type=int, default=100,
                    help="the BYE goes this long after the last packet is due, so both "
                         "streams (started on the ACK's send and arrival) finish")
    ap.add_argument("--timer-resol", type=int, default=1,
                    help="SIPp UAC -timer_resol, ms (its default, 10, coarsens response times)")
    ap.add_argument("--systems", default="tandem,peer")
    ap.add_argument("--kamailio-children", type=int, default=8,
                    help="Kamailio UDP workers (8, its default: each blocks on its PostgreSQL "
                         "and rtpengine requests, so one worker is latency-bound)")
    ap.add_argument("--rtpengine-threads", type=int, default=0,
                    help="rtpengine --num-threads (0: its default, one per CPU)")
    ap.add_argument("--pause", type=float, default=3, help="seconds between steps")
    ap.add_argument("--time-limit", type=int, default=1800)
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    for tool in ("sipp", "kamailio", "rtpengine"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (apt-get install sip-tester kamailio "
                     "kamailio-postgres-modules rtpengine-daemon)")
    if args.rtp_mode == "pcap" and os.geteuid() != 0:
        sys.exit("SIPp's play_pcap_audio needs a raw socket: run as root (in a namespace)")
    rates = [float(r) for r in args.rates.split(",") if r]
    wanted = [s for s in args.systems.split(",") if s]

    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _on_term)
    signal.alarm(args.time_limit)
    stack = rtpe = kam = None
    rows, problems, media = [], [], {}
    try:
        load0 = loadavg()
        stack = Stack()
        pcap = os.path.join(stack.root, "call.pcap") if args.rtp_packets else None
        if pcap:
            make_pcap(PCAP, pcap, args.rtp_packets)
        systems = {}
        common = {"postgres": postmaster_pid(stack.pg), "redis": stack.redis.proc.pid}
        if "tandem" in wanted:
            gw_port = sip_port()
            node = setup_tandem(stack, gw_port)
            systems["tandem"] = {"name": "tandem", "port": node.sip_port, "gateway_port": gw_port,
                                 "roots": {"tandemd": node.proc.pid, **common},
                                 "own": ["tandemd"]}
        if "peer" in wanted:
            if "tandem" not in wanted:  # the caller's HA1 lives in Tandem's tables
                node = setup_tandem(stack, sip_port())
            prepare_kamailio_db(stack.pg)
            rtpe = Rtpengine(stack.root, args.rtpengine_threads)
            gw_port = sip_port()
            kam = KamailioSbc(stack.root, stack.pg, args.kamailio_children, rtpe.ng_port, gw_port)
            systems["peer"] = {"name": "peer", "port": kam.port, "gateway_port": gw_port,
                               "roots": {"kamailio": kam.proc.pid, "rtpengine": rtpe.proc.pid,
                                         **common},
                               "own": ["kamailio", "rtpengine"]}
        done = set()
        for i, rate in enumerate(rates):
            order = [s for s in (wanted if i % 2 == 0 else wanted[::-1]) if s not in done]
            if not order:
                break
            for name in order:
                row = run_step(systems[name], rate, args, stack.root, pcap)
                rows.append(row)
                print(f"{name} {rate:g}/s: ok {row['ok']} failed {row['failed']} "
                      f"{row['reasons'] or ''} retx {row['retransmits']} cps "
                      f"{row['achieved_cps']:.0f} p99 {row['setup_p99_ms']:.0f} ms, "
                      f"{row['cpu_ms_per_call']:.2f} ms CPU/call, SIP drops {row['sip_drops']}, "
                      f"SIPp stalls {row['watchdog']}, load {row['load']}", flush=True)
                if row["failed"]:
                    done.add(name)
                    if row.get("errors"):
                        print("  SIPp errors (start): " + row["errors"][:600].replace("\n", " | "))
                time.sleep(args.pause)
        report(rows, args)
        # Media check: what each relay received against what SIPp's completed calls sent.
        for name in systems:
            sent = 2 * args.rtp_packets * sum(r["ok"] for r in rows if r["system"] == name)
            if name == "tandem":
                got, cdrs = tandem_rtp(stack)
                what = f"tandemd received {got} (CDR packets_in, both legs, {cdrs} CDRs)"
            else:
                counters = rtpengine_rtp(rtpe)
                got = counters.get("statistics.totalstatistics.relayedpackets", 0)
                what = f"rtpengine relayed {got} (ng statistics, relayedpackets)"
            media[name] = {"expected": sent, "counted": got}
            print(f"RTP {name}: {what} of {sent} sent on completed calls "
                  f"({100 * got / sent if sent else 0:.1f} %)")
        if "tandem" in systems:
            notes = {}
            for line in node.log().splitlines():
                if " WARN " in line or " ERROR " in line:
                    key = re.sub(r"[0-9a-f-]{8,}|\d+", "N", line.split("] ", 1)[-1])[:160]
                    notes[key] = notes.get(key, 0) + 1
            for key, n in sorted(notes.items(), key=lambda kv: -kv[1])[:8]:
                print(f"tandemd log: {n} x {key}")
        if "tandem" in systems and not node.alive():
            problems.append("tandemd died during the run:\n" + node.log()[-3000:])
        if kam and kam.proc.poll() is not None:
            problems.append("kamailio died during the run:\n" + kam.log())
        if rtpe and rtpe.proc.poll() is not None:
            problems.append("rtpengine died during the run:\n" + rtpe.log())
        print(f"load average before: {load0}, after: {loadavg()}")
        print("rows: " + json.dumps(rows))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"rows": rows, "media": media, "load_before": load0}, f, indent=1)
    finally:
        signal.alarm(0)
        if kam:
            kam.stop()
        if rtpe:
            rtpe.stop()
        if stack:
            codes = stack.close()
            if any(c not in (0, None) for c in codes.values()):
                problems.append(f"tandemd exit codes: {codes}")
    for p in problems:
        print("PROBLEM: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
