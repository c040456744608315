/* layer_check.c — the program behind each layer_check_<layer> target
 * (CMakeLists.txt): it calls nothing itself; its link line holds every
 * object of one layer and only the layers below it, so the link fails
 * when that layer calls a function of a layer above it. */
int main(void)
{
    return 0;
}
