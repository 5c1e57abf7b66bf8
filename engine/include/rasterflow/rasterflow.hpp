#pragma once
// What an embedder includes: load a graph, plan and run it, watch the run, read its summary.
// A node or sink of its own adds rasterflow/node/ (node, registry, option_binder, payload,
// table_sink); MPI ranks, checkpoints and placement are in rasterflow/hpc/.
#include "rasterflow/config.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/memory.hpp"
#include "rasterflow/metrics.hpp"
#include "rasterflow/observers.hpp"
#include "rasterflow/pipeline.hpp"
#include "rasterflow/run_observer.hpp"
#include "rasterflow/size.hpp"
