#!/usr/bin/env python3
"""A real S3-compatible server (moto) on 127.0.0.1, for the backup tests.

Prints one JSON line with its endpoint, then takes commands on stdin, one JSON object
per line, answering each with one JSON line:
  {"op": "bucket", "name": "b", "lock": true}      a bucket (with Object Lock)
  {"op": "user", "name": "u", "actions": ["s3:PutObject", ...]}
                                                   an IAM user allowed only those
                                                   actions; answers its keys
IAM is enforced: every request needs a user's valid SigV4 signature. The server
stops when stdin closes (when the test process ends).
"""
import json
import os
import sys

# The first three requests (below) create the fixture's administrator; every request
# after them is authenticated and authorised.
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

REGION = "ap-northeast-1"

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
endpoint = "http://127.0.0.1:%d" % server._server.port


def client(service, key=None, secret=None):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key or "bootstrap",
        aws_secret_access_key=secret or "bootstrap",
    )


iam = client("iam")
iam.create_user(UserName="fixture-admin")
iam.put_user_policy(
    UserName="fixture-admin",
    PolicyName="all",
    PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    ),
)
k = iam.create_access_key(UserName="fixture-admin")["AccessKey"]
admin = (k["AccessKeyId"], k["SecretAccessKey"])
iam = client("iam", *admin)
s3 = client("s3", *admin)

print(json.dumps({"endpoint": endpoint, "region": REGION}), flush=True)

for line in sys.stdin:
    try:
        cmd = json.loads(line)
        if cmd["op"] == "bucket":
            args = {"Bucket": cmd["name"], "CreateBucketConfiguration": {"LocationConstraint": REGION}}
            if cmd.get("lock"):
                args["ObjectLockEnabledForBucket"] = True
            s3.create_bucket(**args)
            answer = {"ok": True}
        elif cmd["op"] == "user":
            iam.create_user(UserName=cmd["name"])
            iam.put_user_policy(
                UserName=cmd["name"],
                PolicyName="backup",
                PolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": cmd["actions"], "Resource": "*"}],
                    }
                ),
            )
            k = iam.create_access_key(UserName=cmd["name"])["AccessKey"]
            answer = {"ok": True, "key": k["AccessKeyId"], "secret": k["SecretAccessKey"]}
        elif cmd["op"] == "versions":
            r = s3.list_object_versions(Bucket=cmd["bucket"])
            answer = {
                "ok": True,
                "versions": [v["Key"] for v in r.get("Versions", [])],
            }
        elif cmd["op"] == "put":
            # As someone with access to the bucket: write (or overwrite) an object.
            s3.put_object(Bucket=cmd["bucket"], Key=cmd["key"], Body=cmd["body"].encode())
            answer = {"ok": True}
        elif cmd["op"] == "delete_all":
            # As an attacker holding administrator keys: try to delete every version.
            r = s3.list_object_versions(Bucket=cmd["bucket"])
            refused = 0
            for v in r.get("Versions", []):
                try:
                    s3.delete_object(Bucket=cmd["bucket"], Key=v["Key"], VersionId=v["VersionId"])
                except Exception:
                    refused += 1
            answer = {"ok": True, "refused": refused}
        else:
            answer = {"ok": False, "error": "unknown op"}
    except Exception as e:  # the test reads the error
        answer = {"ok": False, "error": repr(e)}
    print(json.dumps(answer), flush=True)

server.stop()
