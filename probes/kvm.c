/* The KVM part of the fingerprint: API version, capabilities with values,
 * supported CPUID, MSR lists (ioctls on /dev/kvm), and module parameters. */
#include "probes/probe.h"
#include "probes/cpuid.h"
#include "probes/fs.h"
#include "probes/kvm_caps.h"
#include "vmm/err.h"
#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#define KVM_DEV "/dev/kvm"

/* The device the vmm opens too: KVMQUAL_KVM_DEV overrides /dev/kvm. */
static const char *kvm_dev(void)
{
	const char *p = getenv("KVMQUAL_KVM_DEV");
	return p && *p ? p : KVM_DEV;
}

static json_t *msr_list(int fd, unsigned long req, const char *name)
{
	struct kvm_msr_list probe = {.nmsrs = 0};
	if (ioctl(fd, req, &probe) < 0 && errno != E2BIG)
		return kq_unknown("%s: %s", name, strerror(errno));
	size_t n = probe.nmsrs;
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + (n + 1) * sizeof(__u32));
	if (!l)
		return kq_unknown("%s: out of memory", name);
	l->nmsrs = (__u32)n;
	if (ioctl(fd, req, l) < 0) {
		int e = errno;
		free(l);
		return kq_unknown("%s: %s", name, strerror(e));
	}
	json_t *a = json_array();
	for (__u32 i = 0; i < l->nmsrs; i++) {
		char b[16];
		snprintf(b, sizeof(b), "0x%08x", l->indices[i]);
		json_array_append_new(a, json_string(b));
	}
	free(l);
	return a;
}

static json_t *supported_cpuid(int fd)
{
	struct kvm_cpuid2 *c;
	if (kq_kvm_get_supported_cpuid(fd, &c) < 0)
		return kq_unknown("%s", kq_err());
	struct kq_cpuid t = {0};
	for (__u32 i = 0; i < c->nent; i++) {
		struct kq_cpuid_entry e = {c->entries[i].function, c->entries[i].index,
					   c->entries[i].eax,	   c->entries[i].ebx,
					   c->entries[i].ecx,	   c->entries[i].edx};
		kq_cpuid_add(&t, &e);
	}
	free(c);
	json_t *leaves = json_array();
	for (size_t i = 0; i < t.n; i++) {
		char b[128];
		snprintf(b, sizeof(b), "0x%08x 0x%02x: eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x",
			 t.e[i].fn, t.e[i].idx, t.e[i].eax, t.e[i].ebx, t.e[i].ecx, t.e[i].edx);
		json_array_append_new(leaves, json_string(b));
	}
	json_t *o = json_pack("{s:i,s:o,s:o}", "entries", (int)t.n, "features",
			      kq_cpuid_features(&t), "leaves", leaves);
	kq_cpuid_free(&t);
	return o;
}

/* The ioctl part: what kvmqual/kvm.json holds in a recorded tree. */
static json_t *kvm_ioctls(void)
{
	json_t *o = json_object();
	const char *dev = kvm_dev();
	json_object_set_new(o, "device", json_string(dev));
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		json_object_set_new(o, "available", json_false());
		json_object_set_new(o, "value", json_null());
		json_object_set_new(o, "unknown", json_sprintf("%s: %s", dev, strerror(errno)));
		return o;
	}
	int api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (api < 0) {
		json_object_set_new(o, "available", json_false());
		json_object_set_new(o, "value", json_null());
		json_object_set_new(o, "unknown",
				    json_sprintf("KVM_GET_API_VERSION: %s", strerror(errno)));
		close(fd);
		return o;
	}
	json_object_set_new(o, "available", json_true());
	json_object_set_new(o, "api_version", json_integer(api));
	int mmap_size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	json_object_set_new(o, "vcpu_mmap_size",
			    mmap_size < 0
				? kq_unknown("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno))
				: json_integer(mmap_size));

	int vm = ioctl(fd, KVM_CREATE_VM, 0);
	int vm_errno = errno;
	bool vm_ext = vm >= 0 && ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM) > 0;
	json_object_set_new(o, "vm_create",
			    vm >= 0 ? json_true()
				    : kq_unknown("KVM_CREATE_VM: %s", strerror(vm_errno)));

	size_t n;
	const struct kq_kvm_cap *caps = kq_kvm_caps(&n);
	json_t *cj = json_object();
	for (size_t i = 0; i < n; i++) {
		int qfd = (vm_ext && (caps[i].flags & KQ_CAP_VM_SCOPED)) ? vm : fd;
		long v = kq_kvm_cap_value(qfd, &caps[i]);
		json_object_set_new(cj, caps[i].name,
				    v < 0 ? kq_unknown("KVM_CHECK_EXTENSION(%s): %s",
						       caps[i].kernel, strerror(errno))
					  : json_integer(v));
	}
	json_object_set_new(o, "capabilities", cj);
	json_object_set_new(o, "capabilities_vm_scoped_from",
			    json_string(vm_ext ? "vm" : "system"));
	json_object_set_new(o, "supported_cpuid", supported_cpuid(fd));
	json_object_set_new(o, "msr_index_list",
			    msr_list(fd, KVM_GET_MSR_INDEX_LIST, "KVM_GET_MSR_INDEX_LIST"));
	if (kq_kvm_cap_value(fd, kq_kvm_cap_by_name("GET_MSR_FEATURES")) > 0)
		json_object_set_new(
		    o, "msr_feature_index_list",
		    msr_list(fd, KVM_GET_MSR_FEATURE_INDEX_LIST, "KVM_GET_MSR_FEATURE_INDEX_LIST"));
	else
		json_object_set_new(o, "msr_feature_index_list",
				    kq_unknown("KVM_CAP_GET_MSR_FEATURES absent"));
	if (vm >= 0)
		close(vm);
	close(fd);
	return o;
}

static json_t *module_params(const char *root, const char *mod)
{
	char dir[256], why[512];
	snprintf(dir, sizeof(dir), "/sys/module/%s", mod);
	char **names;
	int n = kq_fs_list(root, dir, &names, why, sizeof(why));
	if (n < 0)
		return json_pack("{s:b,s:n,s:s}", "loaded", 0, "value", "unknown", why);
	kq_fs_free_list(names, n);
	json_t *o = json_pack("{s:b}", "loaded", 1);
	snprintf(dir, sizeof(dir), "/sys/module/%s/parameters", mod);
	n = kq_fs_list(root, dir, &names, why, sizeof(why));
	if (n < 0) {
		json_object_set_new(o, "parameters", kq_unknown("%s", why));
		return o;
	}
	json_t *p = json_object();
	for (int i = 0; i < n; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		json_object_set_new(p, names[i], kq_fs_json_text(root, path));
	}
	kq_fs_free_list(names, n);
	json_object_set_new(o, "parameters", p);
	return o;
}

json_t *kq_probe_kvm(const char *root)
{
	json_t *o;
	if (kq_fs_is_live(root)) {
		o = kvm_ioctls();
		char *text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
		if (text) {
			kq_fs_record_file("/kvmqual/kvm.json", text, strlen(text));
			free(text);
		}
	} else {
		char path[4096];
		json_error_t err;
		kq_fs_path(root, "/kvmqual/kvm.json", path, sizeof(path));
		o = json_load_file(path, 0, &err);
		if (!o || !json_is_object(o)) {
			json_decref(o);
			o = json_pack("{s:s,s:b,s:n,s:s+}", "device", KVM_DEV, "available", 0,
				      "value", "unknown", "kvmqual/kvm.json: ", err.text);
		}
		/* the decoded feature names follow from the recorded leaves */
		json_t *sc = json_object_get(o, "supported_cpuid");
		json_t *leaves = json_object_get(sc, "leaves");
		if (json_is_array(leaves)) {
			struct kq_cpuid t = {0};
			size_t i;
			json_t *l;
			json_array_foreach(leaves, i, l)
			{
				if (json_is_string(l))
					kq_cpuid_parse(&t, json_string_value(l), NULL, 0);
			}
			json_object_set_new(sc, "features", kq_cpuid_features(&t));
			kq_cpuid_free(&t);
		}
	}

	/* module parameters: kvm and every vendor module present */
	json_t *mods = json_object();
	const char *vendor = NULL;
	static const char *const known[] = {"kvm", "kvm_intel", "kvm_amd", NULL};
	for (int i = 0; known[i]; i++)
		json_object_set_new(mods, known[i], module_params(root, known[i]));
	char **names, why[256];
	int n = kq_fs_list(root, "/sys/module", &names, why, sizeof(why));
	for (int i = 0; i < n; i++)
		if (!strncmp(names[i], "kvm_", 4) && !json_object_get(mods, names[i]))
			json_object_set_new(mods, names[i], module_params(root, names[i]));
	if (n >= 0)
		kq_fs_free_list(names, n);
	const char *key;
	json_t *m;
	json_object_foreach(mods, key, m)
	{
		if (strcmp(key, "kvm") && json_is_true(json_object_get(m, "loaded")) && !vendor)
			vendor = key;
	}
	json_object_set_new(o, "modules", mods);
	json_object_set_new(o, "vendor_module", vendor ? json_string(vendor) : json_null());
	return o;
}
