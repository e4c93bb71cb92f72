"""SIPp scenarios for test_sipp_failover.py, written out per kind of call: the bench's caller
(tests/bench/sipp/uac.xml) up to its audio, then what the call does around a node's death: it
may be put on hold, answers the successor's re-INVITE (re-INVITE mode), and is hung up by the
caller or by the callee. Built as text because SIPp has no includes, and its conditionals
would hide which call does what."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_CALLER = os.path.join(HERE, "..", "bench", "sipp", "uac.xml")
BENCH_PAUSE = '  <pause milliseconds="[hold]"/>\n'

SDP = """
      v=0
      o=- [pid][call_number] {version} IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000
      a=ptime:20
      a={direction}
"""


def send(text, retrans=True):
    """Sent again every 500 ms until what answers it arrives (nothing answers an ACK)."""
    attr = ' retrans="500"' if retrans else ""
    return f"  <send{attr}>\n    <![CDATA[\n{text}\n    ]]>\n  </send>\n\n"


def play(pcap):
    return (f"  <nop>\n    <action>\n      <exec play_pcap_audio=\"{pcap}\"/>\n    </action>\n"
            "  </nop>\n\n")


def log(message):
    """Also how a variable is used in the scenario that does not need it (SIPp refuses a
    variable set and never used)."""
    return f"  <nop>\n    <action>\n      <log message=\"{message}\"/>\n    </action>\n  </nop>\n\n"


def answer_200(contact, version, direction):
    return send(f"""      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <{contact}>
      Content-Type: application/sdp
      Content-Length: [len]
{SDP.format(version=version, direction=direction)}""")


def reinvite_from_successor(contact, version, direction, pcap):
    """The successor's re-INVITE (re-INVITE mode): its Contact is where the call is now. SIPp
    sends everything of a call to the address the call began with, the dead node's, until
    setdest moves it; the new media address comes from the offer."""
    return f"""  <recv request="INVITE" timeout="30000">
    <action>
      <ereg regexp="sip:[^@>]*@([0-9.]+):([0-9]+)[^>]*" search_in="hdr" header="Contact:"
            check_it="true" assign_to="peer_uri,node_host,node_port"/>
      <setdest host="[$node_host]" port="[$node_port]" protocol="UDP"/>
    </action>
  </recv>

{answer_200(contact, version, direction)}  <recv request="ACK"/>

{play(pcap)}"""


def bye(request_uri, from_, to, cseq):
    return send(f"""      BYE {request_uri} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: {from_}
      To: {to}
      Call-ID: [call_id]
      CSeq: {cseq} BYE
      Max-Forwards: 70
      Content-Length: 0
""") + '  <recv response="200" crlf="true"/>\n'


def bye_received():
    return """  <recv request="BYE" timeout="60000"/>

  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
"""


def scenario(name, body):
    return (f'<?xml version="1.0" encoding="ISO-8859-1" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'
            f'<scenario name="{name}">\n{body}</scenario>\n')


def caller(mode, held, hangs_up, pcap, hold_ms):
    """The calling side: the bench's INVITE with digest and audio; a held call is put on hold
    half a second after its ACK (re-INVITE sendonly, and it goes on sending)."""
    with open(BENCH_CALLER) as f:
        bench = f.read()
    assert BENCH_PAUSE in bench, f"{BENCH_CALLER} no longer pauses where the call is up"
    head = bench[:bench.index(BENCH_PAUSE)].replace("[pcap]", pcap)
    head = head[head.index("<scenario"):]
    head = head[head.index(">") + 1:].lstrip("\n") + "\n"
    own = "<sip:[caller]@[domain]>;tag=[pid]SIPpTag00[call_number]"
    contact = "sip:[caller]@[local_ip]:[local_port];transport=[transport]"
    direction = "sendonly" if held else "sendrecv"
    body = head
    cseq = 3
    if held:
        body += '  <pause milliseconds="500"/>\n\n' + send(f"""      INVITE [$peer_uri] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: {own}
      To:[$peer_to]
      Call-ID: [call_id]
      CSeq: {cseq} INVITE
      Contact: <{contact}>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]
{SDP.format(version=3, direction="sendonly")}""")
        body += ('  <recv response="100" optional="true"/>\n  <recv response="200"/>\n\n' +
                 send(f"""      ACK [$peer_uri] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: {own}
      To:[$peer_to]
      Call-ID: [call_id]
      CSeq: {cseq} ACK
      Max-Forwards: 70
      Content-Length: 0
""", retrans=False))
        cseq += 1
    if mode == "reinvite":
        body += reinvite_from_successor(contact, 4, direction, pcap)
    if hangs_up == "caller":
        body += f'  <pause milliseconds="{hold_ms}"/>\n\n'
        body += bye("[$peer_uri]", own, "[$peer_to]", cseq)
    else:
        body += log("call to [$peer_uri] [$peer_to], hung up by the callee")
        body += bye_received()
    return scenario(f"caller, {mode}, held={held}, hung up by the {hangs_up}", body)


def callee(mode, held, hangs_up, pcap, silence, hold_ms):
    """The called side (a gateway): answers at once and plays its audio; a held callee answers
    recvonly and then sends nothing (silence: a pcap of one packet)."""
    contact = "sip:[local_ip]:[local_port];transport=[transport]"
    own_tag = ";tag=[pid]SIPpTag01[call_number]"
    body = """  <recv request="INVITE" crlf="true">
    <action>
      <ereg regexp="sip:[^>]*" search_in="hdr" header="Contact:" check_it="true"
            assign_to="peer_uri"/>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="peer_from"/>
      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="own_to"/>
    </action>
  </recv>

"""
    body += answer_200(contact, 1, "sendrecv").replace("[last_To:]", "[last_To:]" + own_tag)
    body += '  <recv request="ACK"/>\n\n' + play(pcap)
    if held:
        body += '  <recv request="INVITE" timeout="30000"/>\n\n'
        body += answer_200(contact, 2, "recvonly") + '  <recv request="ACK"/>\n\n' + play(silence)
    if mode == "reinvite":
        body += reinvite_from_successor(contact, 3, "recvonly" if held else "sendrecv",
                                        silence if held else pcap)
    if hangs_up == "callee":
        body += f'  <pause milliseconds="{hold_ms}"/>\n\n'
        body += bye("[$peer_uri]", "[$own_to]" + own_tag, "[$peer_from]", 1)
    else:
        body += log("call from [$peer_from] to [$own_to] at [$peer_uri]")
        body += bye_received()
    return scenario(f"callee, {mode}, held={held}, hung up by the {hangs_up}", body)
