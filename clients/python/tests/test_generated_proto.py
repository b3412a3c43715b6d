"""The shipped gradwatch_pb2.py is what Debian's protoc makes of the project's one .proto today."""
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)
PROTOC = os.environ.get("PROTOC", "/usr/bin/protoc")


def test_generated_protobuf_code_is_not_stale(tmp_path):
    assert shutil.which(PROTOC), f"{PROTOC} missing: apt-get install protobuf-compiler (./gradwatch test does)"
    subprocess.run([os.path.join(PACKAGE, "generate_proto.sh"), str(tmp_path)], check=True,
                   env=dict(os.environ, PROTOC=PROTOC))
    with open(tmp_path / "gradwatch_pb2.py", "rb") as fresh, \
            open(os.path.join(PACKAGE, "gradwatch", "_proto", "gradwatch_pb2.py"), "rb") as shipped:
        assert fresh.read() == shipped.read(), \
            "gradwatch/_proto/gradwatch_pb2.py is stale: run clients/python/generate_proto.sh and commit the result"


def test_the_step_record_has_the_parameter_norms_field():
    from gradwatch._proto import gradwatch_pb2 as pb
    assert pb.StepRecord.DESCRIPTOR.fields_by_name["param_norms"].number == 14
    assert pb.DESCRIPTOR.name == "gradwatch/v1/gradwatch.proto"
