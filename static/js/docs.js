// Entry module of the API docs page (templates/docs.html): starts Swagger UI on #swagger-ui.
// SwaggerUIBundle is the global of static/vendor/swagger-ui/swagger-ui-bundle.js, a classic
// script the page runs before this module.

import { onColorSchemeChange } from "./dom.js";

const host = document.getElementById("swagger-ui");
const darkScheme = window.matchMedia("(prefers-color-scheme: dark)");

// Swagger UI's stylesheet has a dark theme under html.dark-mode; follow the system, as the
// rest of the site does.
function followColorScheme() {
  document.documentElement.classList.toggle("dark-mode", darkScheme.matches);
}

followColorScheme();
onColorSchemeChange(followColorScheme);

window.SwaggerUIBundle({
  url: host.dataset.openapiUrl,
  domNode: host,
  layout: "BaseLayout",
  presets: [window.SwaggerUIBundle.presets.apis],
  deepLinking: true,
  // The default shows a badge fetched from validator.swagger.io; this page asks no other host.
  validatorUrl: null,
});
