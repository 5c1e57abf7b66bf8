# GDAL as a private dependency: from the system's libgdal-dev when present, else from the
# headers that scripts/bootstrap.sh unpacked into .deps/ (why: docs/building.md, "Dependencies
# and why").
add_library(rasterflow_gdal INTERFACE)
find_package(GDAL CONFIG QUIET)
if(GDAL_FOUND)
  target_link_libraries(rasterflow_gdal INTERFACE GDAL::GDAL)
else()
  find_path(RASTERFLOW_GDAL_INCLUDE gdal.h
    HINTS ${CMAKE_CURRENT_SOURCE_DIR}/.deps/gdal/usr/include/gdal /usr/include/gdal REQUIRED)
  find_library(RASTERFLOW_GDAL_LIBRARY NAMES gdal libgdal.so.32 REQUIRED)
  target_include_directories(rasterflow_gdal SYSTEM INTERFACE ${RASTERFLOW_GDAL_INCLUDE})
  target_link_libraries(rasterflow_gdal INTERFACE ${RASTERFLOW_GDAL_LIBRARY})
endif()
