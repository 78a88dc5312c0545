"""Python's side of fernet.python-interop.spec.ts.

Reads one JSON request on stdin and writes one JSON answer on stdout, so that thousands of
tokens cross in a single process. Payloads travel as standard base64, timestamps as decimal
strings (they are unsigned 64-bit integers, beyond what a JSON number carries exactly).

  {"op": "encrypt-and-rotate", "primaryKey", "oldKey", "payloads", "timestamps", "tokensToRotate"}
    -> {"tokens": Fernet(oldKey) tokens of the payloads at the timestamps,
        "rotated": MultiFernet([primaryKey, oldKey]).rotate of each token to rotate}

  {"op": "decrypt", "key", "items": [{"token", "ttl": int | null, "now": int | null}]}
    -> {"results": [{"plaintext", "timestamp"} | null (InvalidToken)]}
"""

import base64
import json
import sys

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def encrypt_and_rotate(request):
    old = Fernet(request["oldKey"])
    ring = MultiFernet([Fernet(request["primaryKey"]), old])
    tokens = [
        old.encrypt_at_time(base64.b64decode(payload), int(timestamp)).decode("ascii")
        for payload, timestamp in zip(request["payloads"], request["timestamps"])
    ]
    rotated = [ring.rotate(token).decode("ascii") for token in request["tokensToRotate"]]
    return {"tokens": tokens, "rotated": rotated}


def decrypt(request):
    fernet = Fernet(request["key"])
    return {"results": [decrypt_item(fernet, item) for item in request["items"]]}


def decrypt_item(fernet, item):
    try:
        if item["ttl"] is None:
            plaintext = fernet.decrypt(item["token"])
        else:
            plaintext = fernet.decrypt_at_time(item["token"], item["ttl"], item["now"])
        timestamp = fernet.extract_timestamp(item["token"])
    except InvalidToken:
        return None
    return {
        "plaintext": base64.b64encode(plaintext).decode("ascii"),
        "timestamp": str(timestamp),
    }


OPERATIONS = {"encrypt-and-rotate": encrypt_and_rotate, "decrypt": decrypt}

if __name__ == "__main__":
    request = json.load(sys.stdin)
    json.dump(OPERATIONS[request["op"]](request), sys.stdout)
