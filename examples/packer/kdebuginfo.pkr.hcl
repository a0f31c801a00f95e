# An image that is ready for SystemTap kernel probing on the kernel it boots.
#
#   packer init examples/packer && packer build examples/packer
#   packer build -var 'kdebuginfo_mirror=https://vault.centos.org=https://nexus.example.com/repository/centos-vault' examples/packer
#
# The source below builds a CentOS Stream 9 cloud image with QEMU; any other builder (amazon-ebs,
# azure-arm, vsphere-iso, ...) works with the same build block. What matters is the order:
#   1. provision.sh before-reboot: upgrade (a newer kernel gets installed, not yet running), then
#      `kdebuginfo install --kernel newest-installed --verify compile` for the kernel the image
#      will boot;
#   2. reboot into it (expect_disconnect);
#   3. provision.sh after-reboot: that kernel is running and `kdebuginfo doctor` says ready.

packer {
  required_plugins {
    qemu = {
      source  = "github.com/hashicorp/qemu"
      version = ">= 1.1.0"
    }
  }
}

variable "image_url" {
  type    = string
  default = "https://cloud.centos.org/centos/9-stream/x86_64/images/CentOS-Stream-GenericCloud-9-latest.x86_64.qcow2"
}

variable "image_checksum" {
  type    = string
  default = "file:https://cloud.centos.org/centos/9-stream/x86_64/images/CentOS-Stream-GenericCloud-9-latest.x86_64.qcow2.SHA256SUM"
}

# What `npm install -g` installs on the image: the registry name, or a packed kdebuginfo-*.tgz
# uploaded first by a file provisioner (then name its path on the image here).
variable "kdebuginfo_package" {
  type    = string
  default = "kdebuginfo"
}

# FROM=TO,FROM=TO: point kdebuginfo at an internal mirror or caching proxy (KDEBUGINFO_MIRROR).
variable "kdebuginfo_mirror" {
  type    = string
  default = ""
}

variable "ssh_password" {
  type      = string
  default   = "packer-build-only"
  sensitive = true
}

source "qemu" "centos_stream_9" {
  iso_url          = var.image_url
  iso_checksum     = var.image_checksum
  disk_image       = true
  disk_size        = "20G"
  format           = "qcow2"
  headless         = true
  memory           = 4096
  cpus             = 2
  output_directory = "output-kdebuginfo"
  vm_name          = "centos-stream-9-systemtap.qcow2"

  # cloud-init's NoCloud seed: a build user with a password for Packer's SSH.
  cd_label = "cidata"
  cd_content = {
    "meta-data" = ""
    "user-data" = <<-EOT
      #cloud-config
      ssh_pwauth: true
      users:
        - name: packer
          plain_text_passwd: ${var.ssh_password}
          lock_passwd: false
          sudo: ALL=(ALL) NOPASSWD:ALL
    EOT
  }

  communicator     = "ssh"
  ssh_username     = "packer"
  ssh_password     = var.ssh_password
  ssh_timeout      = "20m"
  shutdown_command = "sudo shutdown -P now"
}

build {
  sources = ["source.qemu.centos_stream_9"]

  # 1. Node.js and kdebuginfo, the upgrade, then the packages for the newest installed kernel,
  #    proven by compiling the probe against it.
  provisioner "shell" {
    script          = "${path.root}/provision.sh"
    execute_command = "chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}"
    environment_vars = [
      "PROVISION_PHASE=before-reboot",
      "KDEBUGINFO_PACKAGE=${var.kdebuginfo_package}",
      "KDEBUGINFO_MIRROR=${var.kdebuginfo_mirror}",
    ]
  }

  # 2. Boot the new kernel. The connection drops mid-command: expected, not a failure.
  provisioner "shell" {
    inline            = ["sudo systemctl reboot"]
    expect_disconnect = true
  }

  # 3. After the reboot: the provisioned kernel is running and kdebuginfo doctor says ready.
  provisioner "shell" {
    pause_before        = "30s"
    start_retry_timeout = "15m"
    script              = "${path.root}/provision.sh"
    execute_command     = "chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}"
    environment_vars = [
      "PROVISION_PHASE=after-reboot",
    ]
  }
}
