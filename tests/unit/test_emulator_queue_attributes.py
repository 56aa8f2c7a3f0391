"""The emulator's SetQueueAttributes: two requests on one queue at once must not undo each other.

The AWS provider destroys `aws_sqs_queue_policy` (Policy="") and
`aws_sqs_queue_redrive_allow_policy` (RedriveAllowPolicy="") of one queue at once. The emulator
keeps a queue's policy across a SetQueueAttributes without Policy by reading it before moto's write
and putting it back after; a Policy="" landing in between came back, and the destroy waited 20
minutes for it to go (a CI run failed so). The check runs in a process of its own: importing the
emulator patches moto for the whole process, and the engine's unit tests use moto unpatched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from emulator.environ import environ_copy

TOOLS_DIR = Path(__file__).resolve().parents[2] / "tools"

# The redrive-allow write is held inside moto's write until the policy write has been started; the
# policy write must then wait for it and land last, leaving the queue without a policy.
_PROGRAM = r"""
import json, threading
from emulator import server
from moto.sqs.models import Queue

queue = Queue("dlq", region="us-east-1", account_id="123456789012")
statement = {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
             "Resource": queue.queue_arn}
policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
queue._set_attributes({"Policy": policy})
assert queue.policy, "the policy was not set"

inside, release = threading.Event(), threading.Event()
moto_write = server._original_set_attributes

def held(self, attributes, now=None):
    if "RedriveAllowPolicy" in attributes:
        inside.set()
        release.wait(10)
    moto_write(self, attributes, now)

server._original_set_attributes = held
allow = threading.Thread(target=queue._set_attributes, args=({"RedriveAllowPolicy": ""},))
allow.start()
assert inside.wait(10), "the redrive allow write never started"
remove = threading.Thread(target=queue._set_attributes, args=({"Policy": ""},))
remove.start()
remove.join(0.5)
waited = remove.is_alive()
release.set()
allow.join(10)
remove.join(10)
print(json.dumps({"policy": queue.policy, "waited": waited,
                  "attribute": queue.attributes.get("Policy")}))
"""


def test_a_policy_removed_beside_another_attribute_write_stays_removed() -> None:
    environment = {
        **environ_copy(("PYTHON",)),
        "PYTHONPATH": str(TOOLS_DIR),
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["policy"] is None, "the removed policy came back"
    assert result["waited"], "the policy write did not wait for the write in progress"
    assert not result["attribute"], "GetQueueAttributes still returns the policy"
