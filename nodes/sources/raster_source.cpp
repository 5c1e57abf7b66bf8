#include "nodes/sources/raster_source.hpp"

#include "nodes/gdal/irregular_axes.hpp"
#include "nodes/read/source_warnings.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/node/registry.hpp"

namespace rasterflow::nodes {

void RasterSourceOptions::declare(OptionBinder& args) {
  declare_selection(args);
  declare_values(args);
  declare_placement(args);
}

void RasterSourceOptions::declare_selection(OptionBinder& args) {
  args.add("path",
           "raster file or GDAL dataset name (NETCDF:\"f.nc\":pr, HDF5:\"f.h5\"://grp/var, /vsizip/a.zip/b.tif, a "
           "VRT), its file part relative to the graph file's folder",
           path)
      .input_path();
  args.add("variable", "the variable (subdataset) of a NetCDF/HDF5/GRIB container to read", variable);
  args.add("band", "band number (1-based), a list of them, or \"all\"; several bands give one column each", band,
           std::vector<std::string>{"1"})
      .index_list();
  args.add("band_names",
           "what names the column of each band read (<resample id>_<name>): number, description, coordinates (the "
           "bands' decoded time and level values that differ: tas_2006-01-16, z_2006-01-16_500hPa) or metadata:<KEY> "
           "(e.g. metadata:NETCDF_DIM_time); default: number (coordinates with select), and a single band keeps the "
           "plain <resample id>",
           band_names);
  args.add(
          "select",
          "bands chosen by coordinate value, among all bands: {\"time\": [\"2006-01\", \"2006-03\"], \"plev\": 500}; a "
          "date prefix, a range \"2006-01/2006-06\" (ends inclusive), a number or a text such as \"500hPa\"; several "
          "values of one dimension are alternatives (NetCDF/HDF5 dimensions, GRIB's time and level)",
          select)
      .selection();
}

namespace {
constexpr EnumChoice<RasterSourceOptions::Alpha> kAlphas[] = {{"mask", RasterSourceOptions::Alpha::mask},
                                                              {"data", RasterSourceOptions::Alpha::data}};
constexpr EnumChoice<Overviews> kOverviews[] = {{"none", Overviews::none}, {"auto", Overviews::automatic}};
constexpr EnumChoice<IrregularAxes> kIrregularAxes[] = {
    {"coordinates", IrregularAxes::coordinates}, {"refuse", IrregularAxes::refuse}, {"even", IrregularAxes::even}};
}  // namespace

void RasterSourceOptions::declare_values(OptionBinder& args) {
  args.add("nodata", "nodata value for every band read, overriding the file's (tested on the stored value)", nodata);
  args.add("crs", "the source's CRS when it has none or a wrong one (as gdalwarp -s_srs), e.g. EPSG:4326", crs);
  args.add("unpack", "apply the bands' scale and offset (CF scale_factor/add_offset) as xarray decodes them", unpack,
           true);
  args.add("overviews",
           "none: read full resolution (exact); auto: the overview level gdalwarp -ovr AUTO reads for the grid",
           overviews, Overviews::none, kOverviews);
  args.add("alpha",
           "mask: an alpha band (the last band, of colour interpretation alpha) makes its pixels of alpha 0 nodata and "
           "is no data band of band \"all\" (gdalwarp's default -srcalpha); data: it is a band like the others and "
           "masks nothing (gdalwarp -nosrcalpha)",
           alpha, Alpha::mask, kAlphas);
  args.add("wrap_longitude",
           "a source in a geographic CRS spanning 360 degrees of longitude is periodic: it reaches grids on either "
           "convention (-180..180, 0..360) and bilinear/cubic take neighbours across the seam; false: read it as a "
           "plain rectangle",
           wrap_longitude, true);
  args.add("grib_normalize_units",
           "GRIB files: true reads them as GDAL normalises units (GRIB2 temperatures in degrees C), false as stored "
           "(K), as GDAL's GRIB_NORMALIZE_UNITS for this source alone; default: GDAL's configuration (true unless "
           "GRIB_NORMALIZE_UNITS=NO). Either way each column's units are those its values are in, and the plan says "
           "what the normalisation changed",
           grib_normalize_units);
  args.add("irregular_axes",
           "a NetCDF variable whose latitude/longitude values are not evenly spaced (more than 1% of a step): "
           "coordinates (the default: resampled from the true coordinates, as 1-D geolocation arrays, on the warper "
           "path), refuse (naming the deviation) or even (GDAL's even spacing, the deviation printed in the plan)",
           irregular_axes, IrregularAxes::coordinates, kIrregularAxes);
}

void RasterSourceOptions::declare_placement(OptionBinder& args) {
  args.add("transformer",
           "how the pixels are placed on the ground: auto (gdalwarp's choice: the geotransform, else the GCPs "
           "through a polynomial, else the RPCs), geotransform, gcp_polynomial (gdalwarp -order), gcp_tps (gdalwarp "
           "-tps) or rpc (gdalwarp -rpc); GCPs and RPCs are read on the warper path",
           transformer, kGeorefKinds);
  args.add("gcp_order",
           "the order of the gcp_polynomial transformer (1 to 3, as gdalwarp -order); 0: GDAL's choice, 1 below 6 "
           "GCPs, else 2",
           gcp_order, 0)
      .min(0)
      .max(3);
  args.add("rpc_height", "the rpc transformer's height above the ellipsoid, in metres (gdalwarp -to RPC_HEIGHT)",
           rpc_height, 0.0);
  args.add("rpc_dem",
           "a DEM (any raster GDAL reads) giving the rpc transformer's heights (gdalwarp -to RPC_DEM), relative to the "
           "graph file's folder; rpc_height is added to it",
           rpc_dem)
      .input_path();
  args.add("decoding",
           "how the blocks are decoded: auto (the fastest that fits the memory limit), or one strategy: block_rows, "
           "lean_block_rows, streams, small_streams, zlib_streams, gdal_cache (the streams read plain local GeoTIFF "
           "files, one band)",
           decoding, kDecodings);
}

SourceRequest RasterSourceOptions::request() const {
  SourceRequest r;
  r.path = path;
  r.variable = variable;
  r.bands = select ? std::vector<std::string>{"all"} : band;
  r.band_names = band_names;
  r.select = select.value_or(std::vector<std::string>{});
  if (select && !band_names) r.band_names = "coordinates";
  r.nodata = nodata;
  r.crs = crs;
  r.unpack = unpack;
  r.overviews = overviews;
  r.alpha_as_data = alpha == Alpha::data;
  r.wrap_longitude = wrap_longitude;
  r.irregular_axes = irregular_axes;
  r.grib_normalize_units = grib_normalize_units;
  r.georef = {transformer, gcp_order, rpc_height, rpc_dem};
  return r;
}

namespace {
// The reader of `request`, GDAL's warnings while it opens the file logged once each (#28).
std::shared_ptr<RasterReader> open_reader(const SourceRequest& request, const std::string& where) {
  SourceWarnings warnings;
  auto reader = std::make_shared<RasterReader>(request, where);
  warnings.report(where, reader->info().path);
  return reader;
}

// A variable whose axes are not evenly spaced: refused unless irregular_axes is "even"; the
// deviation for the plan.
std::string check_axes(const RasterSourceOptions& o, const std::string& where) {
  if (!o.variable || o.irregular_axes == IrregularAxes::coordinates)
    return {};  // the reader places it by its coordinates
  const auto d = uneven_axis(o.path, *o.variable);
  if (!d) return {};
  const std::string text = o.path + ": " + deviation_text(*d);
  if (o.irregular_axes != IrregularAxes::even) {
    throw_graph_error(where, "option \"irregular_axes\": " + text +
                                 "; GDAL would place it on an even spacing: give \"irregular_axes\": \"coordinates\" "
                                 "(the default) to resample from the true coordinates, or \"even\" to accept the even "
                                 "spacing");
  }
  return text + " (placed on the even spacing: irregular_axes even)";
}
}  // namespace

RasterSource::RasterSource(NodeSpec spec)
    : Node(std::move(spec)),
      options_(bind_options<RasterSourceOptions>(this->spec())),
      reader_(open_reader(options_.request(), where())) {
  axes_note_ = check_axes(options_, where());
  if (options_.decoding) reader_->force_decoding(*options_.decoding);
}

SourceGrid RasterSource::source_grid() const {
  const auto& info = reader_->info();
  if (!info.georef.by_geotransform()) {
    throw_graph_error(where(), "field \"like\": " + info.path + " is " + info.georef.describe() +
                                   ", so it has no pixel grid of its own to take; give the grid's crs, resolution "
                                   "and extent");
  }
  return {info.crs, info.gt, info.width, info.height, info.geolocated()};
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
    .description = "Bands of a raster dataset GDAL can read (GeoTIFF, NetCDF, HDF5, GRIB, zipped files, VRT, ...).",
    .details = "Example: `{\"id\": \"pr_src\", \"type\": \"raster_source\", \"path\": \"climate.nc\", "
               "\"variable\": \"pr\", \"band\": \"all\", \"band_names\": \"metadata:NETCDF_DIM_time\", \"crs\": "
               "\"EPSG:4326\"}` gives one column per month, `pr_<time>`. Every option with an example, and the rules "
               "(packed values, overviews, names that reach the network): "
               "[Graph JSON › Sources](graphs.md#sources-files-variables-bands).",
    .options = rasterflow::declared_options<rasterflow::nodes::RasterSourceOptions>(),
    .output_kind = rasterflow::EdgeKind::source,
    .create = rasterflow::create_node<rasterflow::nodes::RasterSource>,
    .operation = "read"}))
