"""Calls for failover tests: scripted phones connected through a node's service address, and
their RTP as continuous streams (rtpstream.py) so the gap a node's death leaves can be measured."""
from rtpstream import StreamSet
from sipphone import Phone, sdp_media, sdp_offer


def connect(port, host, domain, password, a, b, source="127.0.0.1", callee_source=None):
    """Registers phones a and b at host:port and connects a call a -> b; returns (caller,
    callee) after the ACK."""
    caller = Phone(port, a, domain, password, host=host, source=source)
    callee = Phone(port, b, domain, password, host=host, source=callee_source or source)
    caller.register()
    callee.register()
    caller.call(b, wait_final=False)
    callee.answer()
    final = caller.next(want=lambda m: not m.is_request and m.status >= 200)
    assert final.status == 200, final.raw
    caller.confirm(final)
    callee.next(want=lambda m: m.is_request and m.method == "ACK")
    return caller, callee


def hold(caller, callee):
    """The caller puts the call on hold (re-INVITE sendonly, the callee answers recvonly)."""
    caller.send_in_dialog("INVITE", body=sdp_offer(caller.rtp.ip, caller.rtp.port)
                          .replace("a=sendrecv", "a=sendonly"))
    reinv = callee.next(want=lambda m: m.is_request and m.method == "INVITE")
    callee.respond(reinv, 200, "OK", body=sdp_offer(callee.rtp.ip, callee.rtp.port)
                   .replace("a=sendrecv", "a=recvonly"))
    ok = caller.next(want=lambda m: not m.is_request and m.cseq()[1] == "INVITE"
                     and m.status >= 200)
    assert ok.status == 200, ok.raw
    caller.send_in_dialog("ACK", cseq=ok.cseq()[0])


def streams_for(calls, max_seconds=40):
    """One StreamSet with two streams per call (caller, callee), each sending to the address
    the node gave its phone; returns (set, [(caller stream, callee stream), ...])."""
    s = StreamSet(max_seconds=max_seconds)
    pairs = []
    for caller, callee in calls:
        pairs.append((s.add(caller.rtp.sock, sdp_media(caller.dialog["remote_sdp"])),
                      s.add(callee.rtp.sock, sdp_media(callee.dialog["remote_sdp"]))))
    return s, pairs
