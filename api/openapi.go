package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPIDocument describes every route of NewHandler (OpenAPI 3.1). It is
// written by hand; TestOpenAPICoversEveryRoute fails when a registered route
// is missing from it or it names a route that does not exist.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPIPath is where the document is served, without a token: it is
// registered on the engine, outside the authenticated /api/v1 group.
const openAPIPath = "/api/v1/openapi.json"

func serveOpenAPI(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json", openAPIDocument)
}
