// Starts Swagger UI on openapi.yaml, served next to this file.
//
// config.js (written by tools/docs.py) sets window.JIGUANG_DOCS:
//   {sandbox: {apiUrl, port, projectId, projectSecret} | null}
// With a sandbox, its server entry is selected with the sandbox's port, so "Try it
// out" goes to the sandbox. The page then opens the Authorize dialog (basicAuth).
(function () {
  "use strict";

  var SANDBOX_SERVER = "http://127.0.0.1:{port}/smartop/api/v1";

  function text(tag, value) {
    var node = document.createElement(tag);
    node.textContent = value;
    return node;
  }

  function describeSandbox(note, sandbox) {
    note.textContent = "";
    if (!sandbox) {
      note.append(
        "No local sandbox is running. Start one with ",
        text("code", "jiguang-growth sandbox --port 8765"),
        " to use Try it out without real credentials."
      );
      return;
    }
    note.append(
      "Local sandbox: ",
      text("code", sandbox.apiUrl),
      " - Authorize with user name ",
      text("code", sandbox.projectId),
      " and password ",
      text("code", sandbox.projectSecret),
      ", then Try it out."
    );
  }

  // Swagger UI resets a server's variables to their declared defaults whenever that server
  // is selected. This plugin makes the running sandbox's port the default of the sandbox
  // entry's `port` variable (openapi.yaml says 8765), so the reset lands on the right port.
  // The selector result is cached: Swagger UI re-runs the reset whenever the list changes.
  function sandboxPortPlugin(sandbox) {
    var lastInput = null;
    var lastOutput = null;
    return function () {
      return {
        statePlugins: {
          spec: {
            wrapSelectors: {
              servers: function (original) {
                return function () {
                  var servers = original.apply(null, arguments);
                  if (servers === lastInput) {
                    return lastOutput;
                  }
                  lastInput = servers;
                  lastOutput = servers && servers.map(function (server) {
                    return server.get("url") === SANDBOX_SERVER && server.hasIn(["variables", "port"])
                      ? server.setIn(["variables", "port", "default"], String(sandbox.port))
                      : server;
                  });
                  return lastOutput;
                };
              },
            },
          },
        },
      };
    };
  }

  function openAuthorize(system) {
    system.authActions.showDefinitions(system.authSelectors.definitionsToAuthorize());
  }

  window.addEventListener("load", function () {
    var config = window.JIGUANG_DOCS || {};
    var sandbox = config.sandbox || null;
    describeSandbox(document.getElementById("sandbox-note"), sandbox);
    window.ui = SwaggerUIBundle({
      url: "openapi.yaml",
      dom_id: "#swagger-ui",
      deepLinking: true,
      displayOperationId: true,
      displayRequestDuration: true,
      defaultModelsExpandDepth: 0,
      validatorUrl: null,
      withCredentials: false,
      presets: [SwaggerUIBundle.presets.apis],
      plugins: sandbox ? [sandboxPortPlugin(sandbox)] : [],
      layout: "BaseLayout",
      onComplete: function () {
        var system = window.ui.getSystem();
        if (sandbox) {
          system.oas3Actions.setSelectedServer(SANDBOX_SERVER, "");
        }
        openAuthorize(system);
      },
    });
  });
})();
