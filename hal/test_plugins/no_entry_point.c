/* A shared library that loads but exports no dshal_adapter_negotiate: the plugin loader must skip
 * its manifest with one line and keep the other adapters (hal/test_plugin_manifests.cmake). */
int dshal_test_plugin_unrelated_symbol(void) { return 0; }
