/* The host's paging mode for guests, a fact every memory result carries:
 * two-dimensional paging (Intel EPT, AMD NPT) or shadow paging, read from the
 * KVM vendor module's parameters. kvm_pvm (a software-assisted KVM for hosts
 * without hardware virtualization) always uses shadow paging. */
#include "probes/probe.h"
#include "probes/fs.h"

#include <stdio.h>
#include <string.h>

static bool module_loaded(const char *root, const char *mod)
{
	char dir[96], **names, why[256];
	snprintf(dir, sizeof(dir), "/sys/module/%s", mod);
	int n = kq_fs_list(root, dir, &names, why, sizeof(why));
	if (n >= 0)
		kq_fs_free_list(names, n);
	return n >= 0;
}

/* Adds module.param to obj when the file exists. */
static void add_param(json_t *obj, const char *root, const char *mod, const char *param)
{
	char path[160], key[96];
	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", mod, param);
	snprintf(key, sizeof(key), "%s.%s", mod, param);
	json_t *v = kq_fs_json_text(root, path);
	if (kq_unknown_reason(v))
		json_decref(v);
	else
		json_object_set_new(obj, key, v);
}

/* A Y/N parameter: 1, 0, or -1 when absent or unparsable. */
static int yes_no(const char *root, const char *mod, const char *param)
{
	char path[160], buf[16], why[256];
	bool b;
	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", mod, param);
	if (kq_fs_read(root, path, buf, sizeof(buf), why, sizeof(why)) < 0 ||
	    kq_parse_bool(buf, &b, why, sizeof(why)) < 0)
		return -1;
	return b;
}

json_t *kq_probe_paging(const char *root)
{
	static const char *const kvm_params[] = {"tdp_mmu", "nx_huge_pages", "eager_page_split",
						 NULL};
	static const char *const intel_params[] = {"ept", "unrestricted_guest",
						   "enable_shadow_vmcs", "ept_ad", NULL};
	static const char *const amd_params[] = {"npt", "nested", NULL};
	json_t *o = json_object(), *params = json_object();
	const char *mode = "unknown", *module = NULL;
	char why[160] = "no KVM vendor module is loaded (kvm_intel, kvm_amd, kvm_pvm)";
	for (int i = 0; kvm_params[i]; i++)
		add_param(params, root, "kvm", kvm_params[i]);
	if (module_loaded(root, "kvm_intel")) {
		module = "kvm_intel";
		for (int i = 0; intel_params[i]; i++)
			add_param(params, root, module, intel_params[i]);
		int ept = yes_no(root, module, "ept");
		mode = ept == 1 ? "ept" : ept == 0 ? "shadow" : "unknown";
		snprintf(why, sizeof(why), "kvm_intel.ept = %s",
			 ept == 1   ? "Y"
			 : ept == 0 ? "N"
				    : "unreadable");
	} else if (module_loaded(root, "kvm_amd")) {
		module = "kvm_amd";
		for (int i = 0; amd_params[i]; i++)
			add_param(params, root, module, amd_params[i]);
		int npt = yes_no(root, module, "npt");
		mode = npt == 1 ? "npt" : npt == 0 ? "shadow" : "unknown";
		snprintf(why, sizeof(why), "kvm_amd.npt = %s",
			 npt == 1   ? "Y"
			 : npt == 0 ? "N"
				    : "unreadable");
	} else if (module_loaded(root, "kvm_pvm")) {
		module = "kvm_pvm";
		mode = "shadow";
		snprintf(why, sizeof(why),
			 "kvm_pvm (software-assisted KVM) maps guest memory with "
			 "shadow page tables");
	}
	json_object_set_new(o, "mode", json_string(mode));
	json_object_set_new(o, "hardware",
			    json_boolean(!strcmp(mode, "ept") || !strcmp(mode, "npt")));
	json_object_set_new(o, "vendor_module", module ? json_string(module) : json_null());
	json_object_set_new(o, "reason", json_string(why));
	/* Under another hypervisor the hardware tables are themselves shadowed or
	 * nested by the level below: say so beside the mode. */
	json_object_set_new(o, "nested",
			    json_boolean(strcmp(kq_probe_environment_at(root), "bare-metal") != 0));
	json_object_set_new(o, "parameters", params);
	return o;
}
