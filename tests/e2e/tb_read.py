#!/usr/bin/env python3
"""Loads a TensorBoard log directory through TensorBoard's own Python
ingestion (the plugin event multiplexer and the data provider the
dashboards query) and prints what each dashboard would get, as JSON.

usage: tb_read.py LOGDIR      (in a virtual environment with `tensorboard`)

Per run (a directory holding event files): scalars {tag: [[step, value]]},
histograms {tag: {steps, counts}} (counts: the sum of the bucket counts per
step), images {tag: {steps, width, height, decoded}}, text {tag: [[step,
text]]}, the Keras graph (decoded as the Graphs tab does) and the hparams
plugin content. "hparams_table" is what the HParams tab shows: the
experiment's columns and the session groups with their metric values.
Any loading or decoding error raises, so a non-zero exit means TensorBoard
could not read the directory.
"""
import io
import json
import sys

from PIL import Image  # a dependency of tensorboard
from tensorboard import context
from tensorboard.backend.event_processing import data_provider
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.plugins import base_plugin
from tensorboard.plugins.graph import keras_util
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import backend_context
from tensorboard.plugins.hparams import get_experiment
from tensorboard.plugins.hparams import list_session_groups
from tensorboard.plugins.hparams import metadata as hparams_metadata

EXPERIMENT = ""  # the single experiment of a local log directory
KEEP_ALL = 0     # size guidance 0: keep every point, no reservoir sampling
ALL = 10**9      # a downsample limit above any point count
ALL_POINTS = dict(experiment_id=EXPERIMENT, downsample=ALL)


def load(logdir):
    guidance = {
        kind: KEEP_ALL
        for kind in (
            event_accumulator.COMPRESSED_HISTOGRAMS,
            event_accumulator.IMAGES,
            event_accumulator.AUDIO,
            event_accumulator.SCALARS,
            event_accumulator.HISTOGRAMS,
            event_accumulator.TENSORS,
        )
    }
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        size_guidance=guidance
    )
    multiplexer.AddRunsFromDirectory(logdir)
    multiplexer.Reload()
    return data_provider.MultiplexerDataProvider(multiplexer, logdir)


def proto_value(value):
    """A google.protobuf.Value as a Python value."""
    return getattr(value, value.WhichOneof("kind"))


def hparams_content(tag, content):
    if tag == "_hparams_/session_start_info":
        info = hparams_metadata.parse_session_start_info_plugin_data(content)
        return {
            "hparams": {k: proto_value(v) for k, v in info.hparams.items()},
            "group_name": info.group_name,
            "start_time_secs": info.start_time_secs,
        }
    if tag == "_hparams_/session_end_info":
        info = hparams_metadata.parse_session_end_info_plugin_data(content)
        return {
            "status": api_pb2.Status.Name(info.status),
            "end_time_secs": info.end_time_secs,
        }
    experiment = hparams_metadata.parse_experiment_plugin_data(content)
    return {
        "hparams": [
            {
                "name": h.name,
                "type": api_pb2.DataType.Name(h.type),
                "domain": domain(h),
            }
            for h in experiment.hparam_infos
        ],
        "metrics": [
            {"group": m.name.group, "tag": m.name.tag}
            for m in experiment.metric_infos
        ],
    }


def domain(hparam_info):
    kind = hparam_info.WhichOneof("domain")
    if kind == "domain_discrete":
        return [proto_value(v) for v in hparam_info.domain_discrete.values]
    if kind == "domain_interval":
        interval = hparam_info.domain_interval
        return {"min": interval.min_value, "max": interval.max_value}
    return None


def decode_png(blob):
    with Image.open(io.BytesIO(blob)) as image:
        image.load()
        return [image.width, image.height, image.mode]


def read_scalars(provider, ctx):
    runs = provider.read_scalars(ctx, plugin_name="scalars", **ALL_POINTS)
    return {
        run: {tag: [[d.step, d.value] for d in data] for tag, data in tags.items()}
        for run, tags in runs.items()
    }


def read_histograms(provider, ctx):
    runs = provider.read_tensors(ctx, plugin_name="histograms", **ALL_POINTS)
    return {
        run: {
            tag: {
                "steps": [d.step for d in data],
                "counts": [float(d.numpy[:, 2].sum()) for d in data],
            }
            for tag, data in tags.items()
        }
        for run, tags in runs.items()
    }


def read_images(provider, ctx):
    """The last step's [width, height, png...] of each tag, PNGs decoded."""
    result = {}
    runs = provider.read_blob_sequences(ctx, plugin_name="images", **ALL_POINTS)
    for run, tags in runs.items():
        for tag, data in tags.items():
            blobs = [
                provider.read_blob(ctx, blob_key=ref.blob_key)
                for ref in data[-1].values
            ]
            result.setdefault(run, {})[tag] = {
                "steps": [d.step for d in data],
                "width": int(blobs[0]),
                "height": int(blobs[1]),
                "decoded": [decode_png(blob) for blob in blobs[2:]],
            }
    return result


def read_text(provider, ctx):
    runs = provider.read_tensors(ctx, plugin_name="text", **ALL_POINTS)
    return {
        run: {
            tag: [[d.step, d.numpy.item().decode("utf-8")] for d in data]
            for tag, data in tags.items()
        }
        for run, tags in runs.items()
    }


def read_keras_graphs(provider, ctx):
    """Each model JSON converted to a GraphDef as the Graphs tab does."""
    result = {}
    plugin = dict(experiment_id=EXPERIMENT, plugin_name="graph_keras_model")
    listing = provider.list_blob_sequences(ctx, **plugin)
    runs = provider.read_blob_sequences(ctx, downsample=ALL, **plugin)
    for run, tags in runs.items():
        for tag, data in tags.items():
            blob = provider.read_blob(ctx, blob_key=data[-1].values[0].blob_key)
            graph = keras_util.keras_model_to_graph_def(json.loads(blob))
            result.setdefault(run, {})[tag] = {
                "steps": [d.step for d in data],
                "plugin_content": listing[run][tag].plugin_content.decode(),
                "nodes": [node.name for node in graph.node],
            }
    return result


def read_hparams(provider, ctx):
    listing = provider.list_tensors(
        ctx, experiment_id=EXPERIMENT, plugin_name="hparams"
    )
    return {
        run: {
            tag: hparams_content(tag, series.plugin_content)
            for tag, series in tags.items()
        }
        for run, tags in listing.items()
    }


READERS = (
    ("scalars", read_scalars),
    ("histograms", read_histograms),
    ("images", read_images),
    ("text", read_text),
    ("graph_keras_model", read_keras_graphs),
    ("hparams", read_hparams),
)


def read_runs(provider, ctx):
    runs = {
        run.run_name: {}
        for run in provider.list_runs(ctx, experiment_id=EXPERIMENT)
    }
    for kind, reader in READERS:
        for run, tags in reader(provider, ctx).items():
            runs[run][kind] = tags
    return runs


def hparams_table(provider, ctx, logdir):
    tb_context = base_plugin.TBContext(data_provider=provider, logdir=logdir)
    hparams_context = backend_context.Context(tb_context)
    experiment = get_experiment.Handler(
        ctx, hparams_context, EXPERIMENT, api_pb2.GetExperimentRequest()
    ).run()
    request = api_pb2.ListSessionGroupsRequest(
        start_index=0,
        slice_size=100,
        allowed_statuses=[
            api_pb2.STATUS_UNKNOWN,
            api_pb2.STATUS_SUCCESS,
            api_pb2.STATUS_FAILURE,
            api_pb2.STATUS_RUNNING,
        ],
    )
    groups = list_session_groups.Handler(
        ctx, hparams_context, EXPERIMENT, request
    ).run()
    return {
        "hparam_columns": [h.name for h in experiment.hparam_infos],
        "metric_columns": [
            "%s/%s" % (m.name.group, m.name.tag) for m in experiment.metric_infos
        ],
        "session_groups": [
            {
                "name": group.name,
                "hparams": {k: proto_value(v) for k, v in group.hparams.items()},
                "sessions": [
                    {"name": s.name, "status": api_pb2.Status.Name(s.status)}
                    for s in group.sessions
                ],
                "metrics": {
                    "%s/%s" % (m.name.group, m.name.tag): m.value
                    for m in group.metric_values
                },
            }
            for group in groups.session_groups
        ],
    }


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tb_read.py LOGDIR")
    logdir = sys.argv[1]
    provider = load(logdir)
    ctx = context.RequestContext()
    summary = {
        "runs": read_runs(provider, ctx),
        "hparams_table": hparams_table(provider, ctx, logdir),
    }
    json.dump(summary, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
