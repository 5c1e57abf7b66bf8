#include "nodes/raster_source.hpp"

#include "rasterflow/registry.hpp"

namespace rasterflow::nodes {

void RasterSourceOptions::declare(OptionBinder& args) {
  args.add("path", "raster file, relative to the graph file's folder", path).input_path();
  args.add("band", "band number (1-based)", band, 1).min(1);
  args.add("nodata", "nodata value, overriding the file's", nodata);
  args.add("decoding",
           "how the blocks are decoded: auto (the fastest that fits the memory limit), or one strategy: block_rows, "
           "streams, small_streams, zlib_streams, gdal_cache",
           decoding, std::string("auto"))
      .choices(decoding_choices());
}

RasterSource::RasterSource(NodeSpec spec)
    : Node(std::move(spec)),
      options_(bind_options<RasterSourceOptions>(this->spec())),
      reader_(std::make_shared<RasterReader>(options_.path, options_.band, options_.nodata, where())) {
  if (const auto forced = decoding_from_name(options_.decoding)) reader_->force_decoding(*forced);
}

void RasterSource::prepare(const RunContext& ctx, std::span<Node* const>) {
  reader_->prepare(ctx.threads, ctx.memory_limit);
}

PayloadPtr RasterSource::process(const TileRequest&, std::span<const PayloadPtr>) {
  auto ref = std::make_shared<SourceRef>();
  ref->reader = reader_;
  return ref;
}

}  // namespace rasterflow::nodes

RASTERFLOW_REGISTER_NODE((rasterflow::NodeTypeInfo{
    .name = "raster_source",
    .description = "One band of a raster file GDAL can read (GeoTIFF, NetCDF, VRT, ...).",
    .options = rasterflow::declared_options<rasterflow::nodes::RasterSourceOptions>(),
    .output_kind = "source",
    .create = rasterflow::create_node<rasterflow::nodes::RasterSource>,
    .operation = "read"}))
