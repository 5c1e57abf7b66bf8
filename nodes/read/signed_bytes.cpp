#include "nodes/read/signed_bytes.hpp"

#include <cpl_string.h>

#include <cstdio>

namespace rasterflow::nodes {

std::string signed_byte_vrt(const RasterInfo& info) {
  if (!info.signed_byte) return {};
  char* escaped = CPLEscapeString(info.path.c_str(), -1, CPLES_XML);
  const std::string source(escaped);
  CPLFree(escaped);
  std::string xml = "<VRTDataset rasterXSize=\"" + std::to_string(info.width) + "\" rasterYSize=\"" +
                    std::to_string(info.height) + "\">";
  for (std::size_t k = 0; k < info.bands.size(); ++k) {
    const auto& band = info.bands[k];
    xml += "<VRTRasterBand dataType=\"Float64\" band=\"" + std::to_string(k + 1) +
           "\"><NoDataValue>nan</NoDataValue><ComplexSource><SourceFilename relativeToVRT=\"0\">" + source +
           "</SourceFilename>";
    if (info.overview >= 0)
      xml += "<OpenOptions><OOI key=\"OVERVIEW_LEVEL\">" + std::to_string(info.overview) + "</OOI></OpenOptions>";
    xml += "<SourceBand>" + std::to_string(band.index) + "</SourceBand>";
    // nodata is tested on the stored byte, before the lookup (the signed value + 256 when negative).
    if (band.nodata) {
      char text[32];
      std::snprintf(text, sizeof text, "%.17g", *band.nodata < 0 ? *band.nodata + 256.0 : *band.nodata);
      xml += std::string("<NODATA>") + text + "</NODATA>";
    }
    xml += "<LUT>0:0,127:127,128:-128,255:-1</LUT></ComplexSource></VRTRasterBand>";
  }
  return xml + "</VRTDataset>";
}

}  // namespace rasterflow::nodes
